package ocir

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRefreshMargin(t *testing.T) {
	tests := map[time.Duration]time.Duration{
		time.Hour:        15 * time.Minute,
		4 * time.Hour:    time.Hour,
		10 * time.Minute: 5 * time.Minute,
		time.Minute:      30 * time.Second,
	}
	for life, want := range tests {
		if got := RefreshMargin(life); got != want {
			t.Errorf("RefreshMargin(%v) = %v, want %v", life, got, want)
		}
	}
}

func TestEntryFreshAndValid(t *testing.T) {
	t0 := time.Now()
	e := &cacheEntry{IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	for _, tt := range []struct {
		at           time.Duration
		fresh, valid bool
	}{
		{0, true, true},
		{44 * time.Minute, true, true},
		{46 * time.Minute, false, true},
		{59*time.Minute + 55*time.Second, false, false},
		{2 * time.Hour, false, false},
	} {
		now := t0.Add(tt.at)
		if e.fresh(now) != tt.fresh || e.valid(now) != tt.valid {
			t.Errorf("at +%v: fresh %v valid %v, want %v %v", tt.at, e.fresh(now), e.valid(now), tt.fresh, tt.valid)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	f.Add([]byte(`{"format":1,"key":"k","registry":"iad.ocir.io","identity":"x","token":"t","issuedAt":"2026-01-01T00:00:00Z","expiresAt":"2026-01-01T01:00:00Z"}`))
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, err := decodeEntry(raw)
		if err != nil {
			return
		}
		// Whatever decodes is internally consistent.
		if e.Token == "" || e.Registry == "" || e.Key == "" || !e.ExpiresAt.After(e.IssuedAt) {
			t.Fatalf("accepted inconsistent entry %+v", e)
		}
		_ = entryName(e.Key, e.Registry)
	})
}

// With caching off nothing is kept or read back and no lock is taken, but
// clearing still removes what an earlier run with caching on left behind.
func TestCacheOffKeepsNothingButClearsWhatAnEarlierRunLeft(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	now := time.Now()
	clock := func() time.Time { return now }
	discard := slog.New(slog.DiscardHandler)
	e := &cacheEntry{Format: cacheFormat, Key: "k", Registry: "iad.ocir.io", Identity: "x", Token: "t", IssuedAt: now, ExpiresAt: now.Add(time.Hour)}

	newCache(true, dir, discard, clock).store(e)
	if got := newCache(true, dir, discard, clock).load("k", "iad.ocir.io"); got == nil || got.Token != "t" {
		t.Fatalf("cache on: entry not found on disk by another cache: %+v", got)
	}

	off := newCache(false, dir, discard, clock)
	off.store(e)
	if got := off.load("k", "iad.ocir.io"); got != nil {
		t.Errorf("cache off: load = %+v, want nothing", got)
	}
	if got := off.list(); got == nil || len(got) != 0 {
		t.Errorf("cache off: list = %#v, want an empty list", got)
	}
	if l, err := off.lock(context.Background(), "k", "iad.ocir.io"); l != nil || err != nil {
		t.Errorf("cache off: lock = %v, %v; want none", l, err)
	}
	off.memorize(metadataMemoFile, "u", time.Minute, errors.New("x"))
	if _, ok := off.recall(metadataMemoFile, "u", time.Minute); ok {
		t.Error("cache off: a memo was remembered")
	}
	if err := off.remove(func(*cacheEntry) bool { return true }, true); err != nil {
		t.Fatal(err)
	}
	if got := newCache(true, dir, discard, clock).load("k", "iad.ocir.io"); got != nil {
		t.Errorf("clear with caching off left the entry of an earlier run: %+v", got)
	}
}

// Cache file names must not change between releases, or an upgrade would
// orphan every cached token: fileSafeHost is the strings.Replacer it
// replaced, byte for byte.
func TestCacheFileNamesAreStableAcrossTheReplacerRewrite(t *testing.T) {
	old := strings.NewReplacer(":", "_", "[", "", "]", "")
	for _, h := range []string{"iad.ocir.io", "iad.ocir.io:5000", "[::1]:8443", "127.0.0.1:443", "ocir.us-ashburn-1.oci.oraclecloud.com", "a]b[c::d", ""} {
		if got, want := fileSafeHost(h), old.Replace(h); got != want {
			t.Errorf("fileSafeHost(%q) = %q, want %q", h, got, want)
		}
	}
}
