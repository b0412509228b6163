package ocir

import (
	"context"
	"errors"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// Temporary: replaced by the real implementation in this session.

type state struct{}

func newState() *state { return &state{} }

var errTODO = errors.New("not implemented yet")

func (p *Provider) recognize(serverURL string) (registry.Registry, error) {
	return registry.Registry{}, errTODO
}
func (p *Provider) credential(ctx context.Context, serverURL string, opts ...RequestOption) (Credential, error) {
	return Credential{}, errTODO
}
func (p *Provider) list() ([]CacheEntry, error) { return nil, errTODO }
func (p *Provider) clear() error                { return errTODO }
func (p *Provider) drop(string) error           { return errTODO }
func (p *Provider) explain(ctx context.Context, serverURL string) (Explanation, error) {
	return Explanation{}, errTODO
}
