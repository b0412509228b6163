package ocir

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
)

func (p *Provider) envAPIKeyPresent() bool {
	return p.getenv("OCI_CLI_USER") != "" || p.getenv("OCI_CLI_KEY_FILE") != "" || p.getenv("OCI_CLI_KEY_CONTENT") != ""
}

func (p *Provider) envAPIKeyIdentity() (*identity, error) {
	vals := map[string]string{}
	var missing []string
	for _, k := range []string{"OCI_CLI_USER", "OCI_CLI_TENANCY", "OCI_CLI_FINGERPRINT"} {
		vals[k] = strings.TrimSpace(p.getenv(k))
		if vals[k] == "" {
			missing = append(missing, k)
		}
	}
	keyFile, keyContent := p.getenv("OCI_CLI_KEY_FILE"), p.getenv("OCI_CLI_KEY_CONTENT")
	if keyFile == "" && keyContent == "" {
		missing = append(missing, "OCI_CLI_KEY_FILE or OCI_CLI_KEY_CONTENT")
	}
	if len(missing) > 0 {
		return nil, broken("API key from environment is incomplete: missing %s", strings.Join(missing, ", "))
	}
	keyID := vals["OCI_CLI_TENANCY"] + "/" + vals["OCI_CLI_USER"] + "/" + vals["OCI_CLI_FINGERPRINT"]
	pass := p.getenv("OCI_CLI_PASSPHRASE")
	return &identity{
		auth:     AuthAPIKey,
		describe: "api_key from OCI_CLI_* environment variables",
		cacheKey: "api_key|env|" + keyID,
		region:   p.getenv("OCI_CLI_REGION"),
		hint401:  "check OCI_CLI_USER, OCI_CLI_TENANCY and OCI_CLI_FINGERPRINT, and that the public key is uploaded to the user",
		build: func(context.Context) (common.KeyProvider, error) {
			pem := []byte(keyContent)
			src := "OCI_CLI_KEY_CONTENT"
			if keyContent == "" {
				var err error
				if pem, err = p.readSecret(keyFile, "private key (OCI_CLI_KEY_FILE)", userfile.SecretLimit); err != nil {
					return nil, broken("read OCI_CLI_KEY_FILE: %w", err)
				}
				src = keyFile
			}
			key, err := parseKey(pem, pass, src, "OCI_CLI_PASSPHRASE")
			if err != nil {
				return nil, err
			}
			return staticKey{id: keyID, key: key}, nil
		},
	}, nil
}

// profileIdentity resolves an OCI config profile. It returns (nil, nil)
// when there is nothing to use and required is false. mode is api_key
// (never a session token, as in the OCI CLI), security_token (session
// token required) or auto (session token when the profile has one).
func (p *Provider) profileIdentity(cfgOverride, profileOverride string, required bool, mode string) (*identity, error) {
	wantSession := mode == AuthSecurityToken
	path, explicitPath := ocicli.ConfigPath(p.getenv, cfgOverride)
	profile, explicitProfile := profileOverride, profileOverride != ""
	if profile == "" {
		profile, explicitProfile = ocicli.Profile(p.getenv)
	}
	if path == "" {
		if required {
			return nil, broken("no OCI config file: HOME is not set and neither OCI_CLI_CONFIG_FILE nor OCI_CONFIG_FILE is")
		}
		return nil, nil
	}
	raw, err := ocicli.ReadConfig(path)
	if err != nil {
		switch {
		case errors.Is(err, os.ErrNotExist) && !explicitPath && !required:
			return nil, nil
		case errors.Is(err, userfile.ErrUntrusted):
			// Refused, never skipped: falling through to the next
			// identity would hide why the configured one is not used.
			return nil, &Error{Kind: ErrIdentityBroken, Err: err, Hint: ocicli.ConfigHint(path)}
		}
		return nil, broken("read OCI config: %w", err)
	}
	cfg, err := ocicli.Parse(path, raw)
	if err != nil {
		return nil, broken("parse OCI config: %w", err)
	}
	if !cfg.Has(profile) {
		if explicitProfile || required {
			return nil, broken("profile [%s] not found in %s", profile, path)
		}
		return nil, nil
	}
	if strings.EqualFold(cfg.Get(profile, "authentication_type"), AuthInstancePrincipal) {
		id := p.instancePrincipalIdentity(true)
		id.reason = fmt.Sprintf("profile [%s] in %s has authentication_type=instance_principal", profile, path)
		id.configFile, id.profile = path, profile
		return id, nil
	}
	// A session token inherited from [DEFAULT] (where `oci session
	// authenticate` often writes) does not turn a complete API-key profile
	// into a session profile.
	tokenFile := ""
	ownUser := cfg.Own(profile, "user")
	ownToken := cfg.Own(profile, "security_token_file")
	if mode != AuthAPIKey && (ownToken || !ownUser || wantSession) {
		tokenFile = cfg.FilePath(cfg.Get(profile, "security_token_file"), ocicli.Home(p.getenv))
	}
	if wantSession && tokenFile == "" {
		return nil, broken("profile [%s] in %s has no security_token_file; run `oci session authenticate --profile-name %s`", profile, path, profile)
	}
	var missing []string
	need := []string{"key_file"}
	if tokenFile == "" {
		need = []string{"user", "fingerprint", "key_file", "tenancy"}
	}
	for _, k := range need {
		if cfg.Get(profile, k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, &Error{Kind: ErrIdentityBroken, Err: fmt.Errorf("profile [%s] in %s is missing %s", profile, path, strings.Join(missing, ", ")),
			Hint: fmt.Sprintf("add %s to [%s] in %s (oci setup config writes a complete profile)", strings.Join(missing, ", "), profile, path)}
	}
	keyFile := cfg.FilePath(cfg.Get(profile, "key_file"), ocicli.Home(p.getenv))
	pass := cfg.Get(profile, "pass_phrase")
	where := fmt.Sprintf("profile [%s] in %s", profile, path)
	if tokenFile != "" {
		return p.sessionTokenIdentity(path, profile, cfg.Get(profile, "region"), tokenFile, keyFile, pass), nil
	}
	keyID := cfg.Get(profile, "tenancy") + "/" + cfg.Get(profile, "user") + "/" + cfg.Get(profile, "fingerprint")
	return &identity{
		auth:       AuthAPIKey,
		describe:   "api_key " + where,
		reason:     where + " exists",
		cacheKey:   "api_key|" + path + "|" + profile + "|" + keyID,
		configFile: path, profile: profile, region: cfg.Get(profile, "region"),
		hint401: fmt.Sprintf("OCI did not accept the API key of %s: check user, tenancy and fingerprint, and that the public key is uploaded to that user", where),
		build: func(context.Context) (common.KeyProvider, error) {
			key, err := p.readKeyFile(keyFile, pass, "pass_phrase in "+where)
			if err != nil {
				return nil, err
			}
			return staticKey{id: keyID, key: key}, nil
		},
	}, nil
}

// readKeyFile reads and decrypts a private key file (see readSecret).
func (p *Provider) readKeyFile(path, pass, passWhere string) (*rsa.PrivateKey, error) {
	pem, err := p.readSecret(path, "private key", userfile.SecretLimit)
	if err != nil {
		return nil, broken("read private key: %w", err)
	}
	return parseKey(pem, pass, path, passWhere)
}

func parseKey(pem []byte, pass, src, passWhere string) (*rsa.PrivateKey, error) {
	var pw *string
	if pass != "" {
		pw = &pass
	}
	key, err := common.PrivateKeyFromBytes(pem, pw)
	if err != nil {
		if pass == "" && strings.Contains(string(pem), "ENCRYPTED") {
			return nil, broken("private key %s is encrypted; set %s (this tool never prompts)", src, passWhere)
		}
		return nil, broken("private key %s: %w", src, err)
	}
	return key, nil
}

// staticKey signs with an API key.
type staticKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k staticKey) KeyID() (string, error)                  { return k.id, nil }
func (k staticKey) PrivateRSAKey() (*rsa.PrivateKey, error) { return k.key, nil }
