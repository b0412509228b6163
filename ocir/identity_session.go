package ocir

import (
	"context"
	"crypto/rsa"
	"fmt"
	"strings"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
)

// sessionTokenIdentity signs with the session of an `oci session
// authenticate` profile: its security_token_file and key_file.
func (p *Provider) sessionTokenIdentity(path, profile, region, tokenFile, keyFile, pass string) *identity {
	where := fmt.Sprintf("profile [%s] in %s", profile, path)
	return &identity{
		auth:       AuthSecurityToken,
		describe:   "security_token " + where,
		reason:     where + " has security_token_file",
		cacheKey:   "security_token|" + path + "|" + profile + "|" + sessionOwner(tokenFile),
		configFile: path, profile: profile, region: region,
		hint401: fmt.Sprintf("the session may have expired: run `oci session refresh --profile %s` (or `oci session authenticate`)", profile),
		build: func(context.Context) (common.KeyProvider, error) {
			key, err := p.readKeyFile(keyFile, pass, "pass_phrase in "+where)
			if err != nil {
				return nil, err
			}
			sp := &sessionKey{tokenFile: tokenFile, key: key, read: func(path string) ([]byte, error) {
				return p.readSecret(path, "session token (security_token_file)", userfile.SecretLimit)
			}}
			tok, err := sp.token()
			if err != nil {
				return nil, err
			}
			if exp, ok := jwtExpiry(tok); ok && !exp.After(p.now()) {
				return nil, &Error{Kind: ErrIdentityBroken, Err: fmt.Errorf("session token of %s expired at %s", where, exp.UTC().Format(time.RFC3339)),
					Hint: fmt.Sprintf("run `oci session refresh --profile %s`, or `oci session authenticate` if it can no longer be refreshed", profile)}
			}
			return sp, nil
		},
	}
}

// sessionKey signs with an `oci session authenticate` token. The token file
// is re-read for every signature because `oci session refresh` rewrites it,
// and trimmed because a trailing newline would corrupt the header.
type sessionKey struct {
	tokenFile string
	key       *rsa.PrivateKey
	read      func(path string) ([]byte, error) // the Provider's readSecret: warns once if others can read the token
}

func (s *sessionKey) token() (string, error) {
	raw, err := s.read(s.tokenFile)
	if err != nil {
		return "", broken("read security_token_file: %w", err)
	}
	tok := strings.TrimSpace(string(raw))
	if tok == "" {
		return "", broken("security_token_file %s is empty", s.tokenFile)
	}
	return tok, nil
}

func (s *sessionKey) KeyID() (string, error) {
	tok, err := s.token()
	if err != nil {
		return "", err
	}
	return "ST$" + tok, nil
}
func (s *sessionKey) PrivateRSAKey() (*rsa.PrivateKey, error) { return s.key, nil }

// sessionOwner names whose session a security_token_file holds — subject
// and tenancy, read locally from the token — so that `oci session
// authenticate` writing another principal's session into the same profile
// never serves the previous principal's OCIR token. An unreadable token
// gives "" (building the identity will then report why).
func sessionOwner(tokenFile string) string {
	raw, err := ocicli.ReadFile(tokenFile)
	if err != nil {
		return ""
	}
	c, ok := jwtClaims(strings.TrimSpace(string(raw)))
	if !ok {
		return ""
	}
	sub, _ := c["sub"].(string)
	tenant, _ := c["tenant"].(string)
	return sub + "|" + tenant
}
