package ocir

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/oracle/oci-go-sdk/v65/common"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// Identity types, spelled as OCI_CLI_AUTH spells them.
// The list itself is config.AuthTypes.
const (
	AuthAPIKey            = config.AuthAPIKey
	AuthSecurityToken     = config.AuthSecurityToken
	AuthInstancePrincipal = config.AuthInstancePrincipal
	AuthResourcePrincipal = config.AuthResourcePrincipal
	AuthOKEWorkload       = config.AuthOKEWorkload
	AuthAuto              = config.AuthAuto
	// AuthWorkloadIdentityFederation exchanges an OIDC subject token (a CI
	// job's, a Kubernetes service account's) for an OCI user principal
	// session token at an IAM identity domain, and signs the OCIR token
	// request with it.
	AuthWorkloadIdentityFederation = config.AuthWorkloadIdentityFederation
)

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
