package ocir

import (
	"context"
	"strings"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/common/auth"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
)

// defaultSATokenPath is where Kubernetes mounts a pod's service-account
// token; OCIR_SERVICE_ACCOUNT_TOKEN_FILE overrides it.
const defaultSATokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

func (p *Provider) saTokenPath() string {
	if v := p.getenv("OCIR_SERVICE_ACCOUNT_TOKEN_FILE"); v != "" {
		return v
	}
	return defaultSATokenPath
}

func (p *Provider) okeIdentityFromEnv(required bool) (*identity, error) {
	raw, err := ocicli.ReadFile(p.saTokenPath())
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

// serviceAccountUID is the service account's UID from a projected token's
// kubernetes.io claim, "" when absent.
func serviceAccountUID(claims map[string]any) string {
	k8s, _ := claims["kubernetes.io"].(map[string]any)
	sa, _ := k8s["serviceaccount"].(map[string]any)
	uid, _ := sa["uid"].(string)
	return uid
}
