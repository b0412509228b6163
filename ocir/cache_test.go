package ocir

import (
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
