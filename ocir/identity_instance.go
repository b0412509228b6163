package ocir

import (
	"context"
	"strings"

	"github.com/oracle/oci-go-sdk/v65/common"
)

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
