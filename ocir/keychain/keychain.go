// Package keychain lets Go programs built on go-containerregistry (crane,
// ko, cosign and the like) pull from and push to OCIR with the caller's OCI
// identity: it implements authn.Keychain on top of an ocir.Provider.
//
// OCIR hosts resolve to the login OCIR expects (user BEARER_TOKEN, password
// a short-lived token obtained with the OCI identity); every other registry
// resolves to authn.Anonymous, so the keychain composes with others through
// authn.NewMultiKeychain. A failure to obtain a token for an OCIR host is
// an error, never a silent anonymous pull, unless the caller opts in with
// WithAnonymousOn.
//
// The package depends only on the core (package ocir) and
// go-containerregistry's authn; it pulls in no command-line or kubelet code.
package keychain

import (
	"context"
	"errors"
	"log/slog"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
)

// Source obtains OCIR credentials; *ocir.Provider satisfies it.
type Source interface {
	// Credential returns a bearer credential for serverURL; a host that
	// is not OCIR fails with ocir.ErrNotOCIRHost.
	Credential(ctx context.Context, serverURL string, opts ...ocir.RequestOption) (ocir.Credential, error)
}

var _ Source = (*ocir.Provider)(nil)

// Option configures a Keychain; a nil Option is ignored.
type Option func(*Keychain)

// WithAnonymousOn makes an error matching any of kinds (with errors.Is; the
// ocir.Err* kinds, e.g. ocir.ErrNoIdentity) resolve to authn.Anonymous
// instead of failing, so public repositories still pull. The error is
// logged at warn level (see WithLogger). ocir.ErrNotOCIRHost always
// resolves to authn.Anonymous and need not be listed.
func WithAnonymousOn(kinds ...error) Option {
	return func(k *Keychain) { k.anonymousOn = append(k.anonymousOn, kinds...) }
}

// WithLogger sets where WithAnonymousOn fallbacks are reported; the default,
// and a nil l, discard them.
func WithLogger(l *slog.Logger) Option {
	return func(k *Keychain) {
		if l != nil {
			k.log = l
		}
	}
}

// Keychain resolves OCIR hosts to OCIR bearer credentials. It implements
// authn.Keychain and authn.ContextKeychain and is safe for concurrent use.
type Keychain struct {
	src         Source
	anonymousOn []error
	log         *slog.Logger
}

var (
	_ authn.Keychain        = (*Keychain)(nil)
	_ authn.ContextKeychain = (*Keychain)(nil)
)

// New returns a Keychain over src. It does nothing else. A nil src (or a
// nil *ocir.Provider) makes every resolution fail with
// ocir.ErrIdentityBroken.
func New(src Source, opts ...Option) *Keychain {
	k := &Keychain{src: src, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		if o != nil {
			o(k)
		}
	}
	return k
}

// errNoSource is the cause when a Keychain has nothing to ask: failing
// the pull is better than panicking inside the caller's library.
var errNoSource = &ocir.Error{Kind: ocir.ErrIdentityBroken, Err: errors.New("the keychain has no credential source"), Hint: "create it with keychain.New(provider), provider from ocir.New or ocir.NewFromEnv"}

// Resolve implements authn.Keychain (go-containerregistry calls
// ResolveContext when it has a context).
func (k *Keychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	return k.ResolveContext(context.Background(), target)
}

// ResolveContext implements authn.ContextKeychain: the credentials for
// target's registry, obtained within ctx and the Provider's own timeout.
func (k *Keychain) ResolveContext(ctx context.Context, target authn.Resource) (authn.Authenticator, error) {
	// The registry alone (host[:port]), never the repository: OCIR tokens
	// are per registry host, and the core validates the host.
	if k == nil || k.src == nil {
		return nil, errNoSource
	}
	cred, err := k.src.Credential(ctx, target.RegistryStr())
	switch {
	case err == nil:
		return authn.FromConfig(authn.AuthConfig{Username: cred.Username, Password: cred.Secret}), nil
	case errors.Is(err, ocir.ErrNotOCIRHost):
		return authn.Anonymous, nil
	}
	for _, kind := range k.anonymousOn {
		if errors.Is(err, kind) {
			k.log.Warn("no OCIR credentials, accessing the registry anonymously", "registry", target.RegistryStr(), "err", err)
			return authn.Anonymous, nil
		}
	}
	return nil, err
}
