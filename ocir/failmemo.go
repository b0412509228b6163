package ocir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// failureMemoTTL is how long a slow failure is remembered. `docker build`
// calls the helper for every credHelpers entry in turn: without the memo,
// an OCI endpoint that hangs would cost the full timeout per entry.
const failureMemoTTL = 30 * time.Second

const failureMemoPrefix = "failure-"

type failureMemo struct {
	Key   string    `json:"key"`
	Until time.Time `json:"until"`
	Err   string    `json:"error"`
}

func failureMemoName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return failureMemoPrefix + hex.EncodeToString(sum[:12]) + ".json"
}

// recentFailure reports a slow failure of this identity remembered by this
// or another process within the last failureMemoTTL.
func (p *Provider) recentFailure(key string) (failureMemo, bool) {
	if !p.cacheOn {
		return failureMemo{}, false
	}
	name := failureMemoName(key)
	p.state.mu.Lock()
	m, ok := p.state.failures[name]
	p.state.mu.Unlock()
	if !ok && p.cacheDirUsable() {
		if raw, err := readPrivateFile(filepath.Join(p.cacheDir, name)); err == nil && json.Unmarshal(raw, &m) == nil && m.Key == key {
			ok = true
		}
	}
	now := p.now()
	if !ok || !now.Before(m.Until) || m.Until.Sub(now) > failureMemoTTL {
		return failureMemo{}, false
	}
	return m, true
}

// rememberFailure records a failure that took long; quick failures are
// cheap to retry and are not remembered.
func (p *Provider) rememberFailure(key string, err error, took time.Duration) {
	if !p.cacheOn || took < p.timeout/2 {
		return
	}
	m := failureMemo{Key: key, Until: p.now().Add(failureMemoTTL), Err: err.Error()}
	name := failureMemoName(key)
	p.state.mu.Lock()
	p.state.failures[name] = m
	p.state.mu.Unlock()
	if p.cacheDirUsable() {
		raw, _ := json.Marshal(m)
		if werr := p.writeCacheFile(name, raw); werr != nil {
			p.log.Debug("cannot remember failure", "err", werr)
		}
	}
}

func (p *Provider) forgetFailure(key string) {
	name := failureMemoName(key)
	p.state.mu.Lock()
	_, had := p.state.failures[name]
	delete(p.state.failures, name)
	p.state.mu.Unlock()
	if p.cacheDirUsable() {
		if err := os.Remove(filepath.Join(p.cacheDir, name)); err == nil || had {
			return
		}
	}
}

func (m failureMemo) error(reg string) error {
	return &Error{Kind: ErrTransient, Registry: reg,
		Err:  fmt.Errorf("the last attempt failed slowly at %s and is remembered until %s: %s", m.Until.Add(-failureMemoTTL).UTC().Format(time.TimeOnly), m.Until.UTC().Format(time.TimeOnly), strings.TrimSpace(m.Err)),
		Hint: "not retrying yet so that callers do not wait again; clear the token cache to retry at once"}
}
