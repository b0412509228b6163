package main

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// fakeProvider is a strict stand-in for core (what pullcheck.Checker is
// over an *ocir.Provider in production). Host recognition is the real
// core's (a Provider with an empty environment recognises from the
// compiled-in region table, without any I/O): a host that is not OCIR gets
// ErrNotOCIRHost and no token; credentialCalls records only the OCIR hosts
// it answered.
type fakeProvider struct {
	t    testing.TB
	core *ocir.Provider // for Registry only

	mu          sync.Mutex
	token       string // answered by Credential when err is nil
	err         error  // returned by Credential
	expires     time.Time
	entries     []ocir.CacheEntry
	listErr     error
	dropErr     error
	explanation ocir.Explanation
	explainErr  error
	pull        *pullcheck.Result // answered by CheckPull; nil fails the test
	registryErr error             // returned by Registry for every host when set

	credentialCalls []string // canonical hosts
	pullChecks      []string // registry/repository, with the secret sent
	dropped         []string
	cleared         int
}

var _ core = (*fakeProvider)(nil)

func newFake(t testing.TB) *fakeProvider {
	return &fakeProvider{t: t, core: ocir.New(ocir.WithGetenv(func(string) string { return "" })), token: "tok-123", expires: time.Now().Add(time.Hour)}
}

func (f *fakeProvider) Registry(serverURL string) (registry.Registry, error) {
	if f.registryErr != nil {
		return registry.Registry{}, f.registryErr
	}
	return f.core.Registry(serverURL)
}

func (f *fakeProvider) Credential(_ context.Context, serverURL string, _ ...ocir.RequestOption) (ocir.Credential, error) {
	reg, err := f.Registry(serverURL)
	if err != nil {
		// As the core: recognition comes first, and a host that is not
		// OCIR gets its error with no token and no call recorded.
		return ocir.Credential{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.credentialCalls = append(f.credentialCalls, reg.Host)
	if f.err != nil {
		return ocir.Credential{}, f.err
	}
	return ocir.Credential{Registry: reg.Host, Username: ocir.Username, Secret: f.token, ExpiresAt: f.expires}, nil
}

func (f *fakeProvider) List() ([]ocir.CacheEntry, error) { return f.entries, f.listErr }

func (f *fakeProvider) Drop(serverURL string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropped = append(f.dropped, serverURL)
	return f.dropErr
}

func (f *fakeProvider) Clear() error {
	f.cleared++
	return nil
}

func (f *fakeProvider) Explain(_ context.Context, serverURL string) (ocir.Explanation, error) {
	if _, err := f.Registry(serverURL); err != nil {
		return ocir.Explanation{}, err
	}
	return f.explanation, f.explainErr
}

// CheckPull answers f.pull. Only doctor with a repository may ask the
// registry anything: any other call fails the test, which is how the
// protocol tests assert that they never touch the network.
func (f *fakeProvider) CheckPull(_ context.Context, cred ocir.Credential, repository string) pullcheck.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pullChecks = append(f.pullChecks, cred.Registry+"/"+repository+" "+cred.Secret)
	if f.pull == nil {
		f.t.Errorf("unexpected pull check of %s/%s", cred.Registry, repository)
		return pullcheck.Result{Detail: "no pull check in this test"}
	}
	return *f.pull
}

func (f *fakeProvider) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.credentialCalls...)
}

// kindErr builds a provider error of one kind, as the core returns them.
func kindErr(kind error, hint string) error {
	return &ocir.Error{Kind: kind, Registry: "iad.ocir.io", Hint: hint, RequestID: "req-1", Err: errors.New("cause")}
}
