package helper

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// fakeSource is a strict stand-in for the Source part of *ocir.Provider.
// It recognises hosts with the real region table and, as the core does,
// answers a host that is not OCIR with ErrNotOCIRHost and no token. (The command line's
// tests in cmd/docker-credential-ocir have a fuller fake of the whole
// core.)
type fakeSource struct {
	t     testing.TB
	table *registry.Table
	token string
}

func newFake(t testing.TB) *fakeSource {
	return &fakeSource{t: t, table: registry.DefaultTable(), token: "tok-123"}
}

func (f *fakeSource) Registry(serverURL string) (registry.Registry, error) {
	host, err := registry.Host(serverURL)
	if err != nil {
		return registry.Registry{}, &ocir.Error{Kind: ocir.ErrNotOCIRHost, Err: err}
	}
	reg, ok := f.table.Recognize(host)
	if !ok {
		return registry.Registry{}, &ocir.Error{Kind: ocir.ErrNotOCIRHost, Registry: host, Err: fmt.Errorf("%s is not an OCIR host", host)}
	}
	return reg, nil
}

func (f *fakeSource) Credential(_ context.Context, serverURL string, _ ...ocir.RequestOption) (ocir.Credential, error) {
	reg, err := f.Registry(serverURL)
	if err != nil {
		// As the core: recognition comes first, and a host that is not
		// OCIR gets its error with no token and no call recorded.
		return ocir.Credential{}, err
	}
	return ocir.Credential{Registry: reg.Host, Username: ocir.Username, Secret: f.token, ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (f *fakeSource) List() ([]ocir.CacheEntry, error) { return nil, nil }

func (f *fakeSource) Drop(string) error { return nil }
