package ocir

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/oracle/oci-go-sdk/v65/common"
)

// A session is a federated identity: a security token ("ST$<jwt>") and the
// key it is bound to. One instance principal (or OKE workload identity)
// needs one session, not one per registry: docker build asks for every
// credHelpers entry in a separate process, so the session is kept in
// memory for this process and as a private file in the cache directory for
// the next ones, single-flighted with the cache's entry lock, and never used
// past its refresh margin. The file is keyed by the identity's cache key, so
// identities never share one.
type session struct {
	Format    int       `json:"sessionFormat"`
	Identity  string    `json:"identity"`   // identity cache key, never a secret
	ID        string    `json:"keyId"`      // "ST$" + security token
	KeyPEM    string    `json:"privateKey"` // PKCS#8 PEM of the session key
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt"`

	key *rsa.PrivateKey
}

const (
	sessionFormat     = 1
	sessionFilePrefix = "session-"
	// sessionLockHost names the lock of a session next to the entry locks
	// (which are named after registry hosts, so never "session").
	sessionLockHost = "session"
)

// KeyID and PrivateRSAKey make a session a signer's key provider.
func (s *session) KeyID() (string, error)                  { return s.ID, nil }
func (s *session) PrivateRSAKey() (*rsa.PrivateKey, error) { return s.key, nil }

// usable: far enough from expiry to sign a token request with, by the same
// margin as cached tokens (5 minutes for a 20-minute instance token, as
// the SDK renews).
func (s *session) usable(now time.Time) bool {
	return s.ExpiresAt.Sub(now) > RefreshMargin(s.ExpiresAt.Sub(s.IssuedAt))
}

func sessionFileName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return sessionFilePrefix + hex.EncodeToString(sum[:12]) + ".json"
}

func isSessionFile(name string) bool { return strings.HasPrefix(name, sessionFilePrefix) }

// sharedSession returns the identity's session from memory, from the cache
// directory, or — under the session lock, so one process of many does it —
// by building it (federating).
func (p *Provider) sharedSession(ctx context.Context, id *identity) (common.KeyProvider, error) {
	if s := p.lookupSession(id.cacheKey); s != nil {
		return s, nil
	}
	lock, err := p.lockEntry(ctx, id.cacheKey, sessionLockHost)
	if err != nil {
		return nil, err
	}
	if lock != nil {
		defer lock.Unlock()
	}
	// The holder we waited for may have stored one.
	if s := p.lookupSession(id.cacheKey); s != nil {
		return s, nil
	}
	kp, err := p.buildUnderDeadline(ctx, id, func(kp common.KeyProvider) (common.KeyProvider, error) {
		s, ok := kp.(*session)
		if !ok {
			var err error
			if s, err = materialize(kp, p.now()); err != nil || s == nil {
				return kp, err
			}
		}
		s.Format, s.Identity = sessionFormat, id.cacheKey
		return s, nil
	})
	if err != nil {
		return nil, err
	}
	if s, ok := kp.(*session); ok {
		p.storeSession(s)
	}
	return kp, nil
}

// materialize federates an SDK token-based principal and takes its session
// out (KeyID first: it renews the token and key together). A principal whose
// token carries no expiry is not shared (nil session); one without an issue
// time counts as issued now.
func materialize(kp common.KeyProvider, now time.Time) (*session, error) {
	keyID, err := kp.KeyID()
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, err
		}
		kind := classifySDKError(err)
		if kind == ErrTransient {
			err = retryable{err}
		}
		return nil, &Error{Kind: kind, Err: fmt.Errorf("obtain security token to sign with: %w", err)}
	}
	key, err := kp.PrivateRSAKey()
	if err != nil {
		return nil, &Error{Kind: ErrTransient, Err: fmt.Errorf("session key: %w", err)}
	}
	tok, ok := strings.CutPrefix(keyID, "ST$")
	if !ok {
		return nil, nil
	}
	exp, ok := jwtExpiry(tok)
	if !ok {
		return nil, nil
	}
	iat := now
	if c, ok := jwtClaims(tok); ok {
		if v, ok := c["iat"].(float64); ok {
			iat = time.Unix(int64(v), 0)
		}
	}
	return &session{ID: keyID, key: key, IssuedAt: iat, ExpiresAt: exp}, nil
}

// dropSession forgets the identity's session (memory and disk), so that
// the next call federates again: OCI refused a token signed with it (the
// instance left its dynamic group, the certificate was rotated).
func (p *Provider) dropSession(key string) {
	p.mu.Lock()
	delete(p.sessions, key)
	p.mu.Unlock()
	p.cache.removeSession(key)
}

// lookupSession returns a usable session from memory or the cache, or nil.
func (p *Provider) lookupSession(key string) *session {
	if s := p.memSession(key); s != nil {
		return s
	}
	s := p.cache.loadSession(key)
	if s == nil {
		return nil
	}
	p.mu.Lock()
	p.sessions[key] = s
	p.mu.Unlock()
	return s
}

func (p *Provider) memSession(key string) *session {
	p.mu.Lock()
	s := p.sessions[key]
	p.mu.Unlock()
	if s != nil && s.usable(p.now()) {
		return s
	}
	return nil
}

// decodeSession parses and checks a session file.
func decodeSession(raw []byte) (*session, error) {
	var s session
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	switch {
	case s.Format != sessionFormat:
		return nil, fmt.Errorf("session format %d, want %d", s.Format, sessionFormat)
	case s.Identity == "" || !strings.HasPrefix(s.ID, "ST$"):
		return nil, errors.New("incomplete session")
	case !s.ExpiresAt.After(s.IssuedAt):
		return nil, errors.New("session expires before it was issued")
	}
	block, _ := pem.Decode([]byte(s.KeyPEM))
	if block == nil {
		return nil, errors.New("session key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("session key: %w", err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("session key is not RSA")
	}
	s.key = rk
	return &s, nil
}

// storeSession keeps s in memory and in the cache for the next processes.
func (p *Provider) storeSession(s *session) {
	p.mu.Lock()
	p.sessions[s.Identity] = s
	p.mu.Unlock()
	p.cache.storeSession(s)
}
