package ocir

import (
	"context"
	"fmt"

	"github.com/oracle/oci-go-sdk/v65/common"
)

// The signer's key of an identity comes from here: a federated session
// shared across registries and processes (session.go), a token-based
// principal built once per process, or the identity's own construction
// (API keys and session-token files, which are read anew each time).

// buildKey returns the signer's key provider of id: a shared session for
// federated identities, otherwise the identity's own construction.
func (p *Provider) buildKey(ctx context.Context, id *identity) (common.KeyProvider, error) {
	if id.shareSession {
		return p.sharedSession(ctx, id)
	}
	// Other token-based principals (a resource principal's session comes
	// from the environment) are reused within the process.
	p.mu.Lock()
	kp, ok := p.keys[id.cacheKey]
	p.mu.Unlock()
	if ok && !sessionEnding(kp, p.now()) {
		return kp, nil
	}
	kp, err := p.buildUnderDeadline(ctx, id, nil)
	if err == nil && id.auth != AuthAPIKey && id.auth != AuthSecurityToken {
		p.mu.Lock()
		p.keys[id.cacheKey] = kp
		p.mu.Unlock()
	}
	return kp, err
}

// buildUnderDeadline runs the identity's (possibly networked, context-
// unaware SDK) construction, then post if set, so that the overall deadline
// still holds.
func (p *Provider) buildUnderDeadline(ctx context.Context, id *identity, post func(common.KeyProvider) (common.KeyProvider, error)) (common.KeyProvider, error) {
	type result struct {
		kp  common.KeyProvider
		err error
	}
	ch := make(chan result, 1)
	go func() {
		kp, err := id.build(ctx)
		if err == nil && post != nil {
			kp, err = post(kp)
		}
		ch <- result{kp, err}
	}()
	select {
	case r := <-ch:
		return r.kp, r.err
	case <-ctx.Done():
		return nil, deadlineError(ctx, "", p.timeout, fmt.Errorf("%s: still setting up the identity", id.describe))
	}
}
