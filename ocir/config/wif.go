package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Federation holds a rule's workload identity federation settings. Each
// field is optional and overrides the OCIR_WIF_* variable of the same
// meaning. There is deliberately no field for the client secret or the
// subject token itself: a config file is not a secret store, and a subject
// token expires within minutes; name files instead.
type Federation struct {
	DomainURL        string `yaml:"domainURL"`        // OCIR_WIF_DOMAIN_URL
	ClientID         string `yaml:"clientID"`         // OCIR_WIF_CLIENT_ID
	ClientSecretFile string `yaml:"clientSecretFile"` // OCIR_WIF_CLIENT_SECRET_FILE
	TokenFile        string `yaml:"tokenFile"`        // OCIR_WIF_TOKEN_FILE
	Audience         string `yaml:"audience"`         // OCIR_WIF_AUDIENCE
	TokenType        string `yaml:"tokenType"`        // OCIR_WIF_TOKEN_TYPE
	ResType          string `yaml:"resType"`          // OCIR_WIF_RES_TYPE
}

// validateFederation checks the federation block of rule i.
func validateFederation(i int, r Rule) error {
	if r.Federation == nil {
		return nil
	}
	if r.Auth != AuthWorkloadIdentityFederation {
		return fmt.Errorf("registries[%d]: federation only applies to auth %s", i, AuthWorkloadIdentityFederation)
	}
	f := r.Federation
	if f.DomainURL != "" {
		if _, err := DomainURL(f.DomainURL); err != nil {
			return fmt.Errorf("registries[%d]: federation.domainURL: %w", i, err)
		}
	}
	if err := ValidateTokenType(f.TokenType, f.ResType); err != nil {
		return fmt.Errorf("registries[%d]: federation: %w", i, err)
	}
	return nil
}

// DomainURL checks an identity domain URL and returns it as scheme://host
// (a trailing slash is dropped). The client secret is sent there, so it
// must be https; plain http only on loopback. A path, query or user info is
// refused rather than guessed at: the token endpoint is always
// /oauth2/v1/token on the domain's host.
func DomainURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an absolute URL such as https://idcs-<id>.identity.oraclecloud.com", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && IsLoopback(u.Hostname()):
	case u.Scheme == "http":
		return "", fmt.Errorf("%q: plain http is only allowed on loopback; use https", raw)
	default:
		return "", fmt.Errorf("%q: scheme must be https", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("%q: give only the domain, https://<host>, without path, query or user info", raw)
	}
	return u.Scheme + "://" + u.Host, nil
}

// ValidateTokenType checks OCIR_WIF_TOKEN_TYPE ("", upst or rpst) and that
// rpst comes with a resource type.
func ValidateTokenType(tokenType, resType string) error {
	switch strings.ToLower(tokenType) {
	case "", "upst":
		return nil
	case "rpst":
		if resType == "" {
			return errors.New("token type rpst needs a resource type (OCIR_WIF_RES_TYPE, resType)")
		}
		return nil
	}
	return fmt.Errorf("token type %q is not upst or rpst", tokenType)
}
