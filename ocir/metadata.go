package ocir

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"
)

const (
	// metadataProbeTimeout bounds the reachability probe; the SDK's own
	// constructor would retry for about two minutes.
	metadataProbeTimeout = time.Second
	// metadataNegativeTTL is how long "no metadata service here" is
	// remembered, so a docker build with many credHelpers entries probes once.
	metadataNegativeTTL = 5 * time.Minute
	chassisAssetTagPath = "/sys/class/dmi/id/chassis_asset_tag"
)

// instancePrincipalPlausible is true only where an instance is plausible,
// so laptops never pay for a probe.
func (p *Provider) instancePrincipalPlausible() bool {
	return p.getenv("OCI_METADATA_BASE_URL") != "" || p.oracleHardware()
}

// oracleHardware reports whether the firmware says this is an OCI instance.
func (p *Provider) oracleHardware() bool {
	raw, err := os.ReadFile(p.dmiPath)
	return err == nil && strings.TrimSpace(string(raw)) == "OracleCloud.com"
}

// errNoAnswer is a metadata probe that timed out.
var errNoAnswer = errors.New("no answer")

// noMetadataService reports whether a probe failure says "there is no
// metadata service here" (nothing listens, no route, no answer at all), as
// opposed to a service that answered badly (throttling, a server error),
// which is a blip and says nothing about the next call.
func noMetadataService(err error) bool {
	var dnsErr *net.DNSError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, errNoAnswer) ||
		(errors.As(err, &dnsErr) && dnsErr.IsNotFound)
}

// probeMetadata checks that the instance metadata service answers, with
// no proxy and a one-second deadline, and returns its region. Only "no
// metadata service here" on a machine whose firmware does not say OCI is
// remembered (five minutes, in memory and in the cache directory), and the
// memory is consulted only by automatic discovery: throttling or a server
// error is a blip, and an explicit instance_principal always asks again.
// The caller asks rememberedProbeFailure first.
func (p *Provider) probeMetadata(ctx context.Context, auto bool) (string, error) {
	base := p.metadataBaseURL()
	region, err := p.fetchMetadataRegion(ctx, base)
	if err != nil {
		// A probe cut short by the caller's own deadline says nothing
		// about the metadata service: do not make others believe it.
		if ctx.Err() == nil && noMetadataService(err) && !p.oracleHardware() {
			p.cache.memorize(metadataMemoFile, base, metadataNegativeTTL, err)
		}
		return "", probeFailure(base, auto, err)
	}
	p.cache.forget(metadataMemoFile)
	return region, nil
}

// rememberedProbeFailure is probeMetadata's remembered "no metadata
// service here", for automatic discovery only (see there); nil means probe.
func (p *Provider) rememberedProbeFailure(auto bool) error {
	if !auto {
		return nil
	}
	base := p.metadataBaseURL()
	if m, ok := p.cache.recall(metadataMemoFile, base, time.Minute); ok {
		return probeFailure(base, auto, fmt.Errorf("%s (remembered from %s)", m.Err, m.Since.UTC().Format(time.RFC3339)))
	}
	return nil
}

// probeFailure is the error of an unreachable metadata service: no
// identity at all when the instance was only a guess (auto), transient
// when the instance principal was asked for.
func probeFailure(base string, auto bool, err error) error {
	kind, hint := ErrTransient, "instance principal was requested explicitly; check that this runs on an OCI instance and that OCI_METADATA_BASE_URL (if set) is right"
	if auto {
		kind, hint = ErrNoIdentity, "configure an OCI CLI profile or set OCI_CLI_AUTH; the instance metadata service did not answer"
	}
	return &Error{Kind: kind, Err: fmt.Errorf("instance metadata service %s unreachable: %w", base, err), Hint: hint}
}

// fetchMetadataRegion is GET /instance/region within the probe timeout.
func (p *Provider) fetchMetadataRegion(parent context.Context, base string) (string, error) {
	client := p.metadataClient(metadataProbeTimeout)
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(parent, metadataProbeTimeout)
	defer cancel()
	body, err := metadataGet(ctx, client, base, "/instance/region")
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
			return "", fmt.Errorf("%w within %s", errNoAnswer, metadataProbeTimeout)
		}
		return "", err
	}
	return strings.TrimSpace(string(body)), nil
}

// metadataClient talks to the metadata service: never through a proxy
// (IMDSv2 rejects forwarded requests), connecting within dial.
func (p *Provider) metadataClient(dial time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: dial}).DialContext,
	}
	return &http.Client{Transport: tr, CheckRedirect: noRedirects}
}

// metadataGet reads one metadata document (IMDSv2 header, bounded body).
func metadataGet(ctx context.Context, client *http.Client, base, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer Oracle")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBody))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	return body, nil
}
