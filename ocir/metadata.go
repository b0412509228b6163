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
	if p.getenv("OCI_METADATA_BASE_URL") != "" {
		return true
	}
	raw, err := os.ReadFile(p.state.dmiPath)
	return err == nil && strings.TrimSpace(string(raw)) == "OracleCloud.com"
}

// probeMetadata checks that the instance metadata service answers, with
// no proxy and a one-second deadline. A negative answer is remembered for
// five minutes, in memory and in the cache directory.
func (p *Provider) probeMetadata(ctx context.Context, auto bool) (string, error) {
	base := p.metadataBaseURL()
	fail := func(err error) (string, error) {
		kind, hint := ErrTransient, "instance principal was requested explicitly; check that this runs on an OCI instance and that OCI_METADATA_BASE_URL (if set) is right"
		if auto {
			kind, hint = ErrNoIdentity, "configure an OCI CLI profile or set OCI_CLI_AUTH; the instance metadata service did not answer"
		}
		return "", &Error{Kind: kind, Err: fmt.Errorf("instance metadata service %s unreachable: %w", base, err), Hint: hint}
	}
	if m, ok := p.recall(metadataMemoFile, base, time.Minute); ok {
		return fail(fmt.Errorf("%s (remembered from %s)", m.Err, m.Since.UTC().Format(time.RFC3339)))
	}
	region, err := p.fetchMetadataRegion(ctx, base)
	if err != nil {
		// A probe cut short by the caller's own deadline says nothing
		// about the metadata service: do not make others believe it.
		if ctx.Err() == nil {
			p.memorize(metadataMemoFile, base, metadataNegativeTTL, err)
		}
		return fail(err)
	}
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
			return "", fmt.Errorf("no answer within %s", p.state.probeTimeout)
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
