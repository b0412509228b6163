package kubelet

import (
	"context"
	"log/slog"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/pullcheck"
)

// verifyPull asks the Source (pullcheck.Checker: the pull probe, not the
// core) whether cred may pull repo (--verify-pull) and
// returns the cache duration to answer with. Only a denial changes it, to
// at most DeniedCacheDuration; every other outcome is logged and otherwise
// ignored, since the check is advice and must never cost the node its
// credentials.
func (p *Plugin) verifyPull(ctx context.Context, log *slog.Logger, image, host, repo string, cred ocir.Credential, dur time.Duration) time.Duration {
	res := p.Source.CheckPull(ctx, cred, repo)
	log.Info("verify-pull", "image", image, "result", pullResult(res), "status", res.Status)
	if !res.Denied {
		return dur
	}
	dur = min(dur, DeniedCacheDuration)
	p.note("warning: %s: the registry refused to let this token pull %s (%s); the IAM policy is missing or not effective yet "+
		"(a node needs: Allow dynamic-group <group> to read repos in compartment <compartment>); "+
		"answering with cacheDuration %s so the kubelet asks again soon", host, repo, res.Detail, dur)
	return dur
}

// pullResult describes a pullcheck.Result for the log.
func pullResult(r pullcheck.Result) string {
	switch {
	case r.Allowed && r.Anonymous:
		return "allowed (public repository)"
	case r.Allowed:
		return "allowed"
	case r.Denied:
		return "denied: " + r.Detail
	}
	return "inconclusive: " + r.Detail
}
