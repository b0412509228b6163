package ocir

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/config"
)

// Options given a nil or zero value mean "the default", as their
// documentation says, rather than a Provider that panics later.
func TestNilAndZeroOptionsMeanTheDefault(t *testing.T) {
	w := startWorld(t)
	tests := []struct {
		name string
		opts []Option
	}{
		{"nil logger", []Option{WithLogger(nil)}},
		{"nil option", []Option{nil}},
		{"nil getenv", []Option{WithGetenv(nil)}},
		{"zero timeout", []Option{WithTimeout(0)}},
		{"negative timeout", []Option{WithTimeout(-time.Second)}},
		{"nil proxy", []Option{WithProxy(nil)}},
		{"nil HTTP client", []Option{WithHTTPClient(nil)}},
		{"nil clock", []Option{withClock(nil)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The world's proxy and environment come first; the option
			// under test overrides them.
			p := w.provider(tt.opts...)
			if want := 10 * time.Second; p.timeout != want && p.timeout != config.DefaultTimeout {
				t.Errorf("timeout = %v, want the world's %v or the default %v", p.timeout, want, config.DefaultTimeout)
			}
			if _, err := p.Credential(context.Background(), "iad.ocir.io"); err != nil {
				t.Errorf("Credential: %v", err)
			}
		})
	}
	t.Run("NewFromEnv with a nil option", func(t *testing.T) {
		p, err := NewFromEnv(func(string) string { return "" }, nil, WithLogger(nil))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		if _, err := p.Credential(context.Background(), "example.com"); !errors.Is(err, ErrNotOCIRHost) {
			t.Errorf("Credential(example.com): %v, want ErrNotOCIRHost", err)
		}
	})
}

// A Provider that New did not build — the zero value, or a nil pointer
// behind an interface — fails every call with an error that says so.
func TestProvidersNotBuiltByNewFailWithAnError(t *testing.T) {
	for name, p := range map[string]*Provider{"zero value": {}, "nil pointer": nil} {
		t.Run(name, func(t *testing.T) {
			calls := map[string]func() error{
				"Credential": func() error { _, err := p.Credential(context.Background(), "iad.ocir.io"); return err },
				"Registry":   func() error { _, err := p.Registry("iad.ocir.io"); return err },
				"Explain":    func() error { _, err := p.Explain(context.Background(), "iad.ocir.io"); return err },
				"List":       func() error { _, err := p.List(); return err },
				"Clear":      p.Clear,
				"Drop":       func() error { return p.Drop("iad.ocir.io") },
				"HTTPClient": func() error { _, err := p.HTTPClient(); return err },
			}
			for call, f := range calls {
				err := f()
				if !errors.Is(err, ErrIdentityBroken) || !errors.Is(err, errNotBuilt) {
					t.Errorf("%s: %v, want ErrIdentityBroken saying the Provider was not built by New", call, err)
				}
			}
			if err := p.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}
