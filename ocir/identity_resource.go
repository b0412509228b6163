package ocir

import (
	"context"
	"os"

	"github.com/oracle/oci-go-sdk/v65/common"
	"github.com/oracle/oci-go-sdk/v65/common/auth"
)

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
