package ocir

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/common/auth"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// Identity types, spelled as OCI_CLI_AUTH spells them.
const (
	AuthAPIKey            = "api_key"
	AuthSecurityToken     = "security_token"
	AuthInstancePrincipal = "instance_principal"
	AuthResourcePrincipal = "resource_principal"
	AuthOKEWorkload       = "oke_workload_identity"
	AuthAuto              = "auto"
)

// defaultSATokenPath is where Kubernetes mounts a pod's service-account
// token; OCIR_SERVICE_ACCOUNT_TOKEN_FILE overrides it.
const defaultSATokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// identity is a resolved OCI identity. Resolution reads local files and
// environment only; network work (instance metadata, federation) happens in
// build, after the cache has been consulted.
type identity struct {
	auth       string
	describe   string // e.g. "api_key profile DEFAULT in /root/.oci/config"
	reason     string // why it was chosen
	cacheKey   string // stable across token rotations, never a secret
	configFile string
	profile    string
	region     string
	rule       string
	// hint401 is appended to a 401 from OCIR: what to fix for this identity.
	hint401 string
	// build returns the signer's key provider. It may use the network.
	build func(ctx context.Context) (common.KeyProvider, error)
	// shareSession: build federates, and its session (token + key) serves
	// every registry and process of this identity until it is due for
	// renewal (see session.go).
	shareSession bool
	// federation, for workload identity federation only, describes the
	// setup for doctor; it may request the subject token (never returned).
	federation func(ctx context.Context) *FederationInfo
}

func (p *Provider) home() string {
	if runtime.GOOS == "windows" {
		if h := p.getenv("USERPROFILE"); h != "" {
			return h
		}
	}
	return p.getenv("HOME")
}

func broken(format string, args ...any) error {
	return &Error{Kind: ErrIdentityBroken, Err: fmt.Errorf(format, args...)}
}

func (p *Provider) matchRule(host string) *config.Rule {
	for i := range p.cfg.Registries {
		if registry.MatchImage(p.cfg.Registries[i].Match, host) {
			return &p.cfg.Registries[i]
		}
	}
	return nil
}

// resolveIdentity picks the identity for a registry from local facts only.
func (p *Provider) resolveIdentity(reg registry.Registry, req *request) (*identity, error) {
	mode := strings.ToLower(strings.TrimSpace(p.getenv("OCI_CLI_AUTH")))
	reason := "OCI_CLI_AUTH=" + mode
	if mode == "" {
		mode, reason = AuthAuto, ""
	}
	var profile, cfgFile, ruleDesc string
	rule := p.matchRule(reg.Host)
	if rule != nil {
		ruleDesc = fmt.Sprintf("config rule match %q auth %s", rule.Match, rule.Auth)
		profile, cfgFile = rule.Profile, rule.ConfigFile
		if rule.Auth != AuthAuto {
			mode, reason = rule.Auth, ruleDesc
		}
	}
	// auto picks workload identity federation only when a domain is named.
	if mode == AuthAuto && p.getenv("OCIR_WIF_DOMAIN_URL") != "" {
		mode, reason = AuthWorkloadIdentityFederation, "OCIR_WIF_DOMAIN_URL is set"
	}
	if req.saToken != "" {
		// The kubelet's service-account token is a subject for federation
		// when that is the configured identity, else for OKE.
		var id *identity
		var err error
		if mode == AuthWorkloadIdentityFederation {
			id, err = p.wifIdentity(reg, rule, req.saToken)
		} else {
			id, err = p.okeIdentity(req.saToken, "")
		}
		if err != nil {
			return nil, err
		}
		id.reason = "service-account token handed over by the kubelet"
		return id, nil
	}
	var id *identity
	var err error
	switch mode {
	case AuthAPIKey:
		if p.envAPIKeyPresent() && profile == "" {
			id, err = p.envAPIKeyIdentity()
		} else {
			id, err = p.profileIdentity(cfgFile, profile, true, AuthAPIKey)
		}
	case AuthSecurityToken:
		id, err = p.profileIdentity(cfgFile, profile, true, AuthSecurityToken)
	case AuthInstancePrincipal:
		id = p.instancePrincipalIdentity(true)
	case AuthResourcePrincipal:
		id, err = p.resourcePrincipalIdentity()
	case AuthOKEWorkload:
		id, err = p.okeIdentityFromEnv(true)
	case AuthWorkloadIdentityFederation:
		id, err = p.wifIdentity(reg, rule, "")
	case "instance_obo_user":
		return nil, broken("OCI_CLI_AUTH=instance_obo_user (Cloud Shell delegation) is not supported; use api_key, security_token or instance_principal")
	case AuthAuto:
		id, err = p.autoIdentity(cfgFile, profile)
		if id != nil && ruleDesc != "" {
			id.rule = ruleDesc
		}
		return id, err
	default:
		return nil, broken("authentication type %q (from %s) is not one of %s", mode, reasonOr(reason, "OCI_CLI_AUTH"), strings.Join(config.AuthTypes, ", "))
	}
	if err != nil {
		return nil, err
	}
	id.reason = reason
	id.rule = ruleDesc
	return id, nil
}

func reasonOr(r, d string) string {
	if r == "" {
		return d
	}
	return r
}

// autoIdentity walks the documented discovery order.
func (p *Provider) autoIdentity(cfgFile, profile string) (*identity, error) {
	if p.getenv("OCI_RESOURCE_PRINCIPAL_VERSION") != "" && p.getenv("OCI_RESOURCE_PRINCIPAL_RPST") != "" {
		id, err := p.resourcePrincipalIdentity()
		if id != nil {
			id.reason = "OCI_RESOURCE_PRINCIPAL_VERSION and OCI_RESOURCE_PRINCIPAL_RPST are set"
		}
		return id, err
	}
	if p.getenv("OCI_RESOURCE_PRINCIPAL_VERSION") != "" && p.getenv("KUBERNETES_SERVICE_HOST") != "" {
		if _, err := os.Stat(p.saTokenPath()); err == nil {
			id, err := p.okeIdentityFromEnv(false)
			if id != nil {
				id.reason = "running in a Kubernetes pod with OCI_RESOURCE_PRINCIPAL_VERSION set and a service-account token"
			}
			return id, err
		}
	}
	if p.envAPIKeyPresent() && profile == "" {
		id, err := p.envAPIKeyIdentity()
		if id != nil {
			id.reason = "OCI_CLI_USER/OCI_CLI_KEY_* environment variables are set"
		}
		return id, err
	}
	id, err := p.profileIdentity(cfgFile, profile, false, AuthAuto)
	if id != nil || err != nil {
		return id, err
	}
	if p.instancePrincipalPlausible() {
		id := p.instancePrincipalIdentity(false)
		id.reason = "no API key or profile found and this looks like an OCI instance"
		return id, nil
	}
	return nil, &Error{Kind: ErrNoIdentity, Hint: "configure an OCI CLI profile (oci setup config or oci session authenticate), set OCI_CLI_AUTH, or run on an OCI instance with a dynamic-group policy"}
}

func (p *Provider) saTokenPath() string {
	if v := p.getenv("OCIR_SERVICE_ACCOUNT_TOKEN_FILE"); v != "" {
		return v
	}
	return defaultSATokenPath
}

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
				if pem, err = readUserFile(keyFile); err != nil {
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

// ociConfigPath applies OCI_CLI_CONFIG_FILE > OCI_CONFIG_FILE > ~/.oci/config.
func (p *Provider) ociConfigPath(override string) (path string, explicit bool) {
	for _, v := range []string{override, p.getenv("OCI_CLI_CONFIG_FILE"), p.getenv("OCI_CONFIG_FILE")} {
		if v != "" {
			return expandHome(v, p.home()), true
		}
	}
	if h := p.home(); h != "" {
		return filepath.Join(h, ".oci", "config"), false
	}
	return "", false
}

// expandHome expands a leading ~ the way the OCI CLI does.
func expandHome(v, home string) string {
	if v == "~" || strings.HasPrefix(v, "~/") || strings.HasPrefix(v, `~\`) {
		return filepath.Join(home, v[1:])
	}
	return v
}

// ociProfile is OCI_CLI_PROFILE, default DEFAULT; explicit says the user
// named it.
func (p *Provider) ociProfile() (profile string, explicit bool) {
	if v := strings.TrimSpace(p.getenv("OCI_CLI_PROFILE")); v != "" {
		return v, true
	}
	return defaultProfile, false
}

// Home is the home directory as the OCI CLI finds it, read through getenv.
func Home(getenv func(string) string) string { return New(WithGetenv(getenv)).home() }

// OCIConfigLocation is the OCI config file (OCI_CLI_CONFIG_FILE >
// OCI_CONFIG_FILE > ~/.oci/config; "" without a home) and profile
// (OCI_CLI_PROFILE, default DEFAULT) that identity discovery reads.
func OCIConfigLocation(getenv func(string) string) (path, profile string) {
	p := New(WithGetenv(getenv))
	path, _ = p.ociConfigPath("")
	profile, _ = p.ociProfile()
	return path, profile
}

// profileIdentity resolves an OCI config profile. It returns (nil, nil)
// when there is nothing to use and required is false. mode is api_key
// (never a session token, as in the OCI CLI), security_token (session
// token required) or auto (session token when the profile has one).
func (p *Provider) profileIdentity(cfgOverride, profileOverride string, required bool, mode string) (*identity, error) {
	wantSession := mode == AuthSecurityToken
	path, explicitPath := p.ociConfigPath(cfgOverride)
	profile, explicitProfile := profileOverride, profileOverride != ""
	if profile == "" {
		profile, explicitProfile = p.ociProfile()
	}
	if path == "" {
		if required {
			return nil, broken("no OCI config file: HOME is not set and neither OCI_CLI_CONFIG_FILE nor OCI_CONFIG_FILE is")
		}
		return nil, nil
	}
	raw, err := readUserFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !explicitPath && !required {
			return nil, nil
		}
		return nil, broken("read OCI config: %w", err)
	}
	cfg, err := parseOCIConfig(path, raw)
	if err != nil {
		return nil, broken("parse OCI config: %w", err)
	}
	if !cfg.has(profile) {
		if explicitProfile || required {
			return nil, broken("profile [%s] not found in %s", profile, path)
		}
		return nil, nil
	}
	if strings.EqualFold(cfg.get(profile, "authentication_type"), AuthInstancePrincipal) {
		id := p.instancePrincipalIdentity(true)
		id.reason = fmt.Sprintf("profile [%s] in %s has authentication_type=instance_principal", profile, path)
		id.configFile, id.profile = path, profile
		return id, nil
	}
	// A session token inherited from [DEFAULT] (where `oci session
	// authenticate` often writes) does not turn a complete API-key profile
	// into a session profile.
	tokenFile := ""
	_, ownUser := cfg.profiles[profile]["user"]
	_, ownToken := cfg.profiles[profile]["security_token_file"]
	if mode != AuthAPIKey && (ownToken || !ownUser || wantSession) {
		tokenFile = cfg.filePath(cfg.get(profile, "security_token_file"), p.home())
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
		if cfg.get(profile, k) == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return nil, &Error{Kind: ErrIdentityBroken, Err: fmt.Errorf("profile [%s] in %s is missing %s", profile, path, strings.Join(missing, ", ")),
			Hint: fmt.Sprintf("add %s to [%s] in %s (oci setup config writes a complete profile)", strings.Join(missing, ", "), profile, path)}
	}
	keyFile := cfg.filePath(cfg.get(profile, "key_file"), p.home())
	pass := cfg.get(profile, "pass_phrase")
	where := fmt.Sprintf("profile [%s] in %s", profile, path)
	if tokenFile != "" {
		return &identity{
			auth:       AuthSecurityToken,
			describe:   "security_token " + where,
			reason:     where + " has security_token_file",
			cacheKey:   "security_token|" + path + "|" + profile + "|" + sessionOwner(tokenFile),
			configFile: path, profile: profile, region: cfg.get(profile, "region"),
			hint401: fmt.Sprintf("the session may have expired: run `oci session refresh --profile %s` (or `oci session authenticate`)", profile),
			build: func(context.Context) (common.KeyProvider, error) {
				key, err := readKeyFile(keyFile, pass, "pass_phrase in "+where)
				if err != nil {
					return nil, err
				}
				sp := &sessionKey{tokenFile: tokenFile, key: key}
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
		}, nil
	}
	keyID := cfg.get(profile, "tenancy") + "/" + cfg.get(profile, "user") + "/" + cfg.get(profile, "fingerprint")
	return &identity{
		auth:       AuthAPIKey,
		describe:   "api_key " + where,
		reason:     where + " exists",
		cacheKey:   "api_key|" + path + "|" + profile + "|" + keyID,
		configFile: path, profile: profile, region: cfg.get(profile, "region"),
		hint401: fmt.Sprintf("OCI did not accept the API key of %s: check user, tenancy and fingerprint, and that the public key is uploaded to that user", where),
		build: func(context.Context) (common.KeyProvider, error) {
			key, err := readKeyFile(keyFile, pass, "pass_phrase in "+where)
			if err != nil {
				return nil, err
			}
			return staticKey{id: keyID, key: key}, nil
		},
	}, nil
}

func readKeyFile(path, pass, passWhere string) (*rsa.PrivateKey, error) {
	pem, err := readUserFile(path)
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

// sessionKey signs with an `oci session authenticate` token. The token file
// is re-read for every signature because `oci session refresh` rewrites it,
// and trimmed because a trailing newline would corrupt the header.
type sessionKey struct {
	tokenFile string
	key       *rsa.PrivateKey
}

func (s *sessionKey) token() (string, error) {
	raw, err := readUserFile(s.tokenFile)
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

// jwtClaims decodes a JWT's claims without verifying it. Used only for
// expiry hints and cache keys; OCI verifies every token it receives.
func jwtClaims(tok string) (map[string]any, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if json.Unmarshal(raw, &claims) != nil {
		return nil, false
	}
	return claims, true
}

// sessionOwner names whose session a security_token_file holds — subject
// and tenancy, read locally from the token — so that `oci session
// authenticate` writing another principal's session into the same profile
// never serves the previous principal's OCIR token. An unreadable token
// gives "" (building the identity will then report why).
func sessionOwner(tokenFile string) string {
	raw, err := readUserFile(tokenFile)
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

func jwtExpiry(tok string) (time.Time, bool) {
	c, ok := jwtClaims(tok)
	if !ok {
		return time.Time{}, false
	}
	exp, ok := c["exp"].(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(exp), 0), true
}

func (p *Provider) resourcePrincipalIdentity() (*identity, error) {
	version := p.getenv("OCI_RESOURCE_PRINCIPAL_VERSION")
	if version == "" {
		return nil, broken("resource principal requested but OCI_RESOURCE_PRINCIPAL_VERSION is not set")
	}
	rpst := p.getenv("OCI_RESOURCE_PRINCIPAL_RPST")
	subject := "env"
	if rpst != "" {
		if _, err := os.Stat(rpst); err == nil {
			subject = rpst
		} else if c, ok := jwtClaims(rpst); ok {
			if s, ok := c["sub"].(string); ok {
				subject = s
			}
		}
	}
	region := p.getenv("OCI_RESOURCE_PRINCIPAL_REGION")
	return &identity{
		auth:     AuthResourcePrincipal,
		describe: "resource principal (version " + version + ")",
		cacheKey: "resource_principal|" + region + "|" + subject,
		region:   region,
		hint401:  "the resource principal session token (OCI_RESOURCE_PRINCIPAL_RPST) may have expired",
		build: func(context.Context) (common.KeyProvider, error) {
			cp, err := auth.ResourcePrincipalConfigurationProvider()
			if err != nil {
				return nil, broken("resource principal: %w", err)
			}
			return cp, nil
		},
	}, nil
}

func (p *Provider) okeIdentityFromEnv(required bool) (*identity, error) {
	raw, err := readUserFile(p.saTokenPath())
	if err != nil {
		return nil, broken("OKE workload identity: read service-account token: %w", err)
	}
	return p.okeIdentity(strings.TrimSpace(string(raw)), p.saTokenPath())
}

// okeIdentity uses OKE workload identity with a given service-account token
// (the pod's own, or one the kubelet handed over for a pod).
func (p *Provider) okeIdentity(saToken, source string) (*identity, error) {
	if p.getenv("KUBERNETES_SERVICE_HOST") == "" {
		return nil, broken("OKE workload identity needs KUBERNETES_SERVICE_HOST (and OCI_RESOURCE_PRINCIPAL_VERSION, OCI_RESOURCE_PRINCIPAL_REGION)")
	}
	sub, uid := "unknown", ""
	if c, ok := jwtClaims(saToken); ok {
		if s, ok := c["sub"].(string); ok {
			sub = s
		}
		uid = serviceAccountUID(c)
	} else {
		return nil, broken("OKE workload identity: the service-account token is not a JWT")
	}
	describe := "OKE workload identity for " + sub
	if source != "" {
		describe += " (token " + source + ")"
	}
	return &identity{
		auth:     AuthOKEWorkload,
		describe: describe,
		// The UID is the account's identity (KEP-2535): a deleted and
		// recreated account of the same name is another principal.
		cacheKey: "oke_workload_identity|" + p.getenv("KUBERNETES_SERVICE_HOST") + "|" + sub + "|" + uid,
		region:   p.getenv("OCI_RESOURCE_PRINCIPAL_REGION"),
		hint401:  "check the IAM policy for the workload (request.principal.type = 'workload') and that the cluster is an enhanced cluster",
		// A pod's many images, or a node's many pods of one service
		// account, need one exchange at the proxymux.
		shareSession: true,
		build: func(context.Context) (common.KeyProvider, error) {
			cp, err := auth.OkeWorkloadIdentityConfigurationProviderWithServiceAccountTokenProvider(auth.NewSuppliedServiceAccountTokenProvider(saToken))
			if err != nil {
				return nil, broken("OKE workload identity: %w", err)
			}
			return cp, nil
		},
	}, nil
}

func (p *Provider) metadataBaseURL() string {
	if v := p.getenv("OCI_METADATA_BASE_URL"); v != "" {
		return strings.TrimRight(v, "/")
	}
	return "http://169.254.169.254/opc/v2"
}

func (p *Provider) instancePrincipalIdentity(explicit bool) *identity {
	base := p.metadataBaseURL()
	return &identity{
		auth:         AuthInstancePrincipal,
		describe:     "instance principal",
		cacheKey:     "instance_principal|" + base,
		hint401:      "the instance's dynamic group may be missing or the instance certificate was rotated; check the dynamic-group matching rule",
		shareSession: true,
		build: func(ctx context.Context) (common.KeyProvider, error) {
			return p.federateInstance(ctx, !explicit)
		},
	}
}

// serviceAccountUID is the service account's UID from a projected token's
// kubernetes.io claim, "" when absent.
func serviceAccountUID(claims map[string]any) string {
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	sa, _ := k8s["serviceaccount"].(map[string]any)
	uid, _ := sa["uid"].(string)
	return uid
}
