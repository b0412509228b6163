package helper

import (
	"context"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// fakeSource is a strict stand-in for the Source part of *ocir.Provider.
// Host recognition is the real core's (a Provider with an empty
// environment recognises from the compiled-in region table, without any
// I/O): a host that is not OCIR gets ErrNotOCIRHost and no token. (The
// command line's tests in cmd/docker-credential-ocir have a fuller fake of
// the whole core.)
type fakeSource struct {
	t     testing.TB
	core  *ocir.Provider // for Registry only
	token string
}

func newFake(t testing.TB) *fakeSource {
	return &fakeSource{t: t, core: ocir.New(ocir.WithGetenv(func(string) string { return "" })), token: "tok-123"}
}

func (f *fakeSource) Registry(serverURL string) (registry.Registry, error) {
	return f.core.Registry(serverURL)
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
