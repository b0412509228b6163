package kubelet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// Source is what the plugin needs from the token provider. pullcheck.Checker
// satisfies it; tests use a fake.
type Source interface {
	// Credential returns a bearer credential for the image's registry;
	// a host that is not OCIR fails with ocir.ErrNotOCIRHost.
	Credential(ctx context.Context, serverURL string, opts ...ocir.RequestOption) (ocir.Credential, error)
	// CheckPull asks the registry whether cred may pull repository
	// (--verify-pull).
	CheckPull(ctx context.Context, cred ocir.Credential, repository string) pullcheck.Result
}

// MaxTimeout caps one lookup. The kubelet kills the plugin after one minute
// and then has nothing to show but "signal: killed"; finishing earlier lets
// the plugin print why it failed.
const MaxTimeout = 50 * time.Second

// ClampTimeout is the deadline of one lookup for a requested timeout d:
// d itself, or MaxTimeout when d is zero, negative or more than MaxTimeout.
func ClampTimeout(d time.Duration) time.Duration {
	if d <= 0 || d > MaxTimeout {
		return MaxTimeout
	}
	return d
}

// DeniedCacheDuration is the longest the kubelet may cache an answer whose
// token was refused by the registry (--verify-pull). IAM policies take a few
// minutes to become effective; a node must notice soon after they do.
const DeniedCacheDuration = 2 * time.Minute

// Plugin answers one kubelet request. The zero value is not usable: Source
// is required.
type Plugin struct {
	// Source issues the OCIR credentials.
	Source Source
	// Timeout bounds the whole lookup, verify-pull probe included. Zero
	// or more than MaxTimeout means MaxTimeout.
	Timeout time.Duration
	// VerifyPull checks with Source.CheckPull that the token may pull the
	// requested repository, and shortens the cache duration when the
	// registry denies it.
	VerifyPull bool
	// Now replaces time.Now, for tests.
	Now func() time.Time
	// Log receives diagnostics; nil discards them.
	Log *slog.Logger
	// Stderr receives the human-readable notes the kubelet shows when it
	// logs a failure; nil discards them.
	Stderr io.Writer

	// withServiceAccountToken replaces ocir.WithServiceAccountToken when
	// set: tests see what the plugin hands to the core (the option is
	// opaque).
	withServiceAccountToken func(jwt string, annotations map[string]string) ocir.RequestOption
}

// Run reads one CredentialProviderRequest from stdin and, only when every
// step succeeded, writes the complete response to stdout in one Write. On
// error nothing has been written to stdout; the caller prints the error on
// stderr and exits 1, which is the only way to tell the kubelet "no
// credentials" without it caching that answer.
func (p *Plugin) Run(ctx context.Context, stdin io.Reader, stdout io.Writer) (err error) {
	defer func() {
		// A bug must not turn into a half-written stdout or a stack trace
		// the kubelet truncates; report it like any other failure.
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error: %v", r)
		}
	}()
	req, err := ReadRequest(stdin)
	if err != nil {
		return err
	}
	out, err := p.Answer(ctx, req)
	if err != nil {
		return err
	}
	if _, err := stdout.Write(out); err != nil {
		return fmt.Errorf("write response to stdout: %w", err)
	}
	return nil
}

// Answer decides the response to req and returns it encoded.
func (p *Plugin) Answer(ctx context.Context, req Request) ([]byte, error) {
	if p.Source == nil {
		return nil, errors.New("no credential source configured")
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	log := p.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(ctx, ClampTimeout(p.Timeout))
	defer cancel()

	host, repo := registry.SplitImage(req.Image)
	// The host is also the key of the answer's auth map, as written: it
	// must be a host (name or [IPv6], optional port) and nothing a URL
	// parser would cut off ("iad.ocir.io?x" reads as iad.ocir.io).
	if strings.Trim(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:[]") != "" {
		return nil, explain(req.Image, fmt.Errorf("%w: %s is not a registry host name", ocir.ErrNotOCIRHost, shown(host)))
	}
	var opts []ocir.RequestOption
	if req.ServiceAccountToken != "" {
		// KEP-4412: the kubelet handed over the pod's projected token; the
		// pod's identity, not the node's, must be used.
		withToken := ocir.WithServiceAccountToken
		if p.withServiceAccountToken != nil {
			withToken = p.withServiceAccountToken
		}
		opts = append(opts, withToken(req.ServiceAccountToken, req.ServiceAccountAnnotations))
	}
	cred, err := p.Source.Credential(ctx, req.Image, opts...)
	if err != nil {
		return nil, explain(req.Image, err)
	}
	canonical, err := checkCredential(host, cred, now())
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", req.Image, err)
	}
	username := cred.Username
	if username == "" {
		username = ocir.Username
	}
	dur := CacheDuration(now(), cred.IssuedAt, cred.ExpiresAt)
	log.Debug("credentials obtained", "image", req.Image, "registry", cred.Registry,
		"expires", cred.ExpiresAt.UTC().Format(time.RFC3339), "cacheDuration", dur.String(),
		"serviceAccount", req.ServiceAccountToken != "")

	if p.VerifyPull && repo != "" {
		if cred.Registry == "" {
			// checkCredential accepted it for the image's host.
			cred.Registry = canonical
		}
		cred.Username = username
		dur = p.verifyPull(ctx, log, req.Image, host, repo, cred, dur)
	}

	return EncodeResponse(req.APIVersion, Response{
		Registry:      host,
		Username:      username,
		Password:      cred.Secret,
		CacheDuration: dur,
	})
}

// checkCredential refuses to hand the kubelet anything but a live token for
// the host the image names. The auth key is the host exactly as written in
// the image, because the kubelet matches auth keys against the image string
// with its own case- and port-sensitive rules. It returns the host's
// canonical registry name.
func checkCredential(host string, cred ocir.Credential, now time.Time) (string, error) {
	canonical, err := registry.Host(host)
	if err != nil {
		return "", err
	}
	if cred.Registry != "" && cred.Registry != canonical {
		return "", fmt.Errorf("token is for %s, not %s", cred.Registry, canonical)
	}
	if cred.Secret == "" {
		return "", errors.New("empty token")
	}
	if !cred.ExpiresAt.After(now) {
		return "", fmt.Errorf("token expired at %s", cred.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return canonical, nil
}

// explain adds what the node operator can do to the core's error.
func explain(image string, err error) error {
	image = shown(image)
	switch {
	case errors.Is(err, ocir.ErrNotOCIRHost):
		// err names the host and what OCIR hosts look like.
		return fmt.Errorf("image %s: %w (the provider config's matchImages send it to this plugin; "+
			"generate them with 'ocir-credential-provider config')", image, err)
	case errors.Is(err, ocir.ErrNoIdentity):
		return fmt.Errorf("no credentials for %s: %w (the kubelet runs this plugin with an almost empty "+
			"environment: set OCI_* variables in the provider config's env)", image, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("no credentials for %s: %w (raise --timeout, at most %s)", image, err, MaxTimeout)
	}
	return fmt.Errorf("no credentials for %s: %w", image, err)
}

// shown is image as it may go into the kubelet's log: itself when it is
// printable ASCII, else quoted with escapes, so that a request cannot put
// a new line or a terminal escape into the log.
func shown(image string) string {
	for i := 0; i < len(image); i++ {
		if image[i] < 0x20 || image[i] > 0x7e {
			return strconv.QuoteToASCII(image)
		}
	}
	return image
}

func (p *Plugin) note(format string, args ...any) {
	if p.Stderr != nil {
		fmt.Fprintf(p.Stderr, "ocir-credential-provider: "+format+"\n", args...)
	}
}
