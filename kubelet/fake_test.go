package kubelet

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
)

// fakeSource is a strict Source: it fails the test on any call it was not
// told to expect, and records what it was asked.
type fakeSource struct {
	t       *testing.T
	want    string // expected serverURL; "" means the source must not be called
	cred    ocir.Credential
	err     error
	pull    *pullcheck.Result // CheckPull's verdict; nil means CheckPull must not be called
	mu      sync.Mutex
	calls   int
	optsLen []int
	checked []checkCall
}

// checkCall is one CheckPull call.
type checkCall struct {
	cred ocir.Credential
	repo string
}

func (f *fakeSource) Credential(ctx context.Context, serverURL string, opts ...ocir.RequestOption) (ocir.Credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.optsLen = append(f.optsLen, len(opts))
	if f.want == "" {
		f.t.Errorf("Credential(%q) called, want no call", serverURL)
		return ocir.Credential{}, ocir.ErrTransient
	}
	if serverURL != f.want {
		f.t.Errorf("Credential(%q), want %q", serverURL, f.want)
	}
	if _, ok := ctx.Deadline(); !ok {
		f.t.Errorf("Credential called without a deadline")
	}
	return f.cred, f.err
}

func (f *fakeSource) CheckPull(ctx context.Context, cred ocir.Credential, repository string) pullcheck.Result {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.checked = append(f.checked, checkCall{cred: cred, repo: repository})
	if f.pull == nil {
		f.t.Errorf("CheckPull(%q) called, want no call", repository)
		return pullcheck.Result{Detail: "unexpected call"}
	}
	if _, ok := ctx.Deadline(); !ok {
		f.t.Errorf("CheckPull called without a deadline")
	}
	return *f.pull
}

// token returns a credential for host issued at now and valid until
// now+life.
func token(host string, now time.Time, life time.Duration) ocir.Credential {
	return ocir.Credential{Registry: strings.ToLower(host), Username: ocir.Username, Secret: "tok-" + host, IssuedAt: now, ExpiresAt: now.Add(life)}
}

// countingWriter records every Write, to prove stdout is written once or
// not at all.
type countingWriter struct {
	mu     sync.Mutex
	writes int
	buf    strings.Builder
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

func (w *countingWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
