package e2e

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// registryTransport reaches the emulated registries the way the clients
// do: through the emulator's proxy, trusting its test CA.
func (h *harness) registryTransport() (*http.Transport, error) { return h.emu.ClientTransport() }

// headWithAuth resolves ref with the given registry login, the way a
// client would after reading it from the helper.
func (h *harness) headWithAuth(ctx context.Context, ref, user, password string) (string, error) {
	r, err := name.ParseReference(ref)
	if err != nil {
		return "", err
	}
	tr, err := h.registryTransport()
	if err != nil {
		return "", err
	}
	desc, err := remote.Head(r, remote.WithContext(ctx), remote.WithTransport(tr),
		remote.WithAuth(&authn.Basic{Username: user, Password: password}))
	if err != nil {
		return "", err
	}
	return desc.Digest.String(), nil
}

// remoteDigest checks what a client pushed, with a token from the
// helper's own token command.
func (h *harness) remoteDigest(ref string) string {
	h.t.Helper()
	host, _, _ := strings.Cut(ref, "/")
	out, errOut, err := h.helper("token", host)
	if err != nil {
		h.t.Fatalf("token %s: %v\n%s", host, err, errOut)
	}
	d, err := h.headWithAuth(context.Background(), ref, "BEARER_TOKEN", strings.TrimSpace(out))
	if err != nil {
		h.t.Fatalf("%s is not in the registry: %v", ref, err)
	}
	return d
}
