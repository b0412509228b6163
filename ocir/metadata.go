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
	raw, err := os.ReadFile(p.state.dmiPath)
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
// no proxy and a one-second deadline. Only "no metadata service here" on a
// machine whose firmware does not say OCI is remembered (five minutes, in
// memory and in the cache directory), and the memory is consulted only by
// automatic discovery: throttling or a server error is a blip, and an
// explicit instance_principal always asks again.
func (p *Provider) probeMetadata(ctx context.Context, auto bool) (string, error) {
	base := p.metadataBaseURL()
	fail := func(err error) (string, error) {
		kind, hint := ErrTransient, "instance principal was requested explicitly; check that this runs on an OCI instance and that OCI_METADATA_BASE_URL (if set) is right"
		if auto {
			kind, hint = ErrNoIdentity, "configure an OCI CLI profile or set OCI_CLI_AUTH; the instance metadata service did not answer"
		}
		return "", &Error{Kind: kind, Err: fmt.Errorf("instance metadata service %s unreachable: %w", base, err), Hint: hint}
	}
	if auto {
		if m, ok := p.recall(metadataMemoFile, base, time.Minute); ok {
			return fail(fmt.Errorf("%s (remembered from %s)", m.Err, m.Since.UTC().Format(time.RFC3339)))
		}
	}
	region, err := p.fetchMetadataRegion(ctx, base)
	if err != nil {
		// A probe cut short by the caller's own deadline says nothing
		// about the metadata service: do not make others believe it.
		if ctx.Err() == nil && noMetadataService(err) && !p.oracleHardware() {
			p.memorize(metadataMemoFile, base, metadataNegativeTTL, err)
		}
		return fail(err)
	}
	p.forget(metadataMemoFile)
	return region, nil
}

func (p *Provider) fetchMetadataRegion(parent context.Context, base string) (string, error) {
	ctx, cancel := context.WithTimeout(parent, p.state.probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/instance/region", nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer Oracle")
	tr := &http.Transport{
		Proxy:       nil, // IMDSv2 rejects forwarded requests
		DialContext: (&net.Dialer{Timeout: p.state.probeTimeout}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, CheckRedirect: noRedirects}
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && parent.Err() == nil {
			return "", fmt.Errorf("%w within %s", errNoAnswer, p.state.probeTimeout)
		}
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /instance/region: HTTP %d", resp.StatusCode)
	}
	return strings.TrimSpace(string(body)), nil
}
