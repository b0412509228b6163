package emulator_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

func TestFaultsOnTheTokenEndpoint(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	p := apiKeyProvider(t, e, "DEFAULT", "")

	cases := []struct {
		name       string
		fault      emulator.Fault
		wantStatus int
		wantCode   string
		wantBody   string
		wantHeader [2]string
		minElapsed time.Duration
	}{
		{name: "status 500 once", fault: emulator.Fault{Endpoint: "token", Status: 500, Count: 1}, wantStatus: 500, wantCode: "InternalServerError"},
		{name: "429 with Retry-After", fault: emulator.Fault{Endpoint: "token", Status: 429, Count: 1, Header: map[string]string{"Retry-After": "3"}},
			wantStatus: 429, wantCode: "TooManyRequests", wantHeader: [2]string{"Retry-After", "3"}},
		{name: "malformed body with 200", fault: emulator.Fault{Endpoint: "token", Body: `{"token":`, Count: 1}, wantStatus: 200, wantBody: `{"token":`},
		{name: "403 after a delay", fault: emulator.Fault{Endpoint: "token", Status: 403, Delay: 300 * time.Millisecond, Count: 1},
			wantStatus: 403, wantCode: "NotAuthorizedOrNotFound", minElapsed: 300 * time.Millisecond},
		{name: "delay only, then normal answer", fault: emulator.Fault{Endpoint: "token", Delay: 300 * time.Millisecond, Count: 1},
			wantStatus: 200, minElapsed: 300 * time.Millisecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.ResetCounters()
			e.AddFault(tc.fault)
			start := time.Now()
			resp, body := signedGet(t, client, p, tokenURL("iad.ocir.io"))
			elapsed := time.Since(start)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantStatus, body)
			}
			if resp.Header.Get("opc-request-id") == "" {
				t.Error("no opc-request-id")
			}
			if tc.wantCode != "" {
				if oe := decodeOCIError(t, body); oe.Code != tc.wantCode {
					t.Errorf("code %q, want %q", oe.Code, tc.wantCode)
				}
			}
			if tc.wantBody != "" && string(body) != tc.wantBody {
				t.Errorf("body %q, want %q", body, tc.wantBody)
			}
			if h := tc.wantHeader; h[0] != "" && resp.Header.Get(h[0]) != h[1] {
				t.Errorf("%s = %q, want %q", h[0], resp.Header.Get(h[0]), h[1])
			}
			if elapsed < tc.minElapsed {
				t.Errorf("answered after %s, want at least %s", elapsed, tc.minElapsed)
			}
			// Count 1: the next request is served normally.
			if resp, body := signedGet(t, client, p, tokenURL("iad.ocir.io")); resp.StatusCode != http.StatusOK {
				t.Errorf("after the fault: status %d: %s", resp.StatusCode, body)
			}
			if got := e.Count("token-attempts"); got != 2 {
				t.Errorf(`Count("token-attempts") = %d, want 2`, got)
			}
		})
	}
}

func TestFaultCountAndHostFilter(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	p := apiKeyProvider(t, e, "DEFAULT", "")
	e.AddFault(emulator.Fault{Endpoint: "token", Host: "phx.ocir.io", Status: 503, Count: 2})

	statuses := func(host string, n int) []int {
		var out []int
		for i := 0; i < n; i++ {
			resp, _ := signedGet(t, client, p, tokenURL(host))
			out = append(out, resp.StatusCode)
		}
		return out
	}
	if got := statuses("iad.ocir.io", 1); got[0] != 200 {
		t.Errorf("iad.ocir.io: %v, want [200] (fault is for phx.ocir.io)", got)
	}
	if got := statuses("phx.ocir.io", 3); got[0] != 503 || got[1] != 503 || got[2] != 200 {
		t.Errorf("phx.ocir.io: %v, want [503 503 200]", got)
	}

	e.AddFault(emulator.Fault{Endpoint: "token", Status: 500})
	if got := statuses("iad.ocir.io", 3); got[0] != 500 || got[2] != 500 {
		t.Errorf("forever fault: %v, want all 500", got)
	}
	e.ClearFaults()
	if got := statuses("iad.ocir.io", 1); got[0] != 200 {
		t.Errorf("after ClearFaults: %v, want [200]", got)
	}
}

func TestHangFaultIsReleasedWhenTheClientGivesUp(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	p := apiKeyProvider(t, e, "DEFAULT", "")
	e.AddFault(emulator.Fault{Endpoint: "token", Hang: true, Count: 1})

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tokenURL("iad.ocir.io"), nil)
	req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	signWith(t, p, req)
	start := time.Now()
	_, err := client.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung request: err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("hung request returned after %s", d)
	}
	if resp, body := signedGet(t, client, p, tokenURL("iad.ocir.io")); resp.StatusCode != http.StatusOK {
		t.Errorf("after the hang: status %d: %s", resp.StatusCode, body)
	}
}

func TestHangFaultIsReleasedByClose(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	e.AddFault(emulator.Fault{Endpoint: "registry", Hang: true})
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, "https://iad.ocir.io/v2/", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for e.Count("registry") == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("request still hanging 5s after Close")
	}
}

func TestFaultsOnOtherEndpoints(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)

	e.AddFault(emulator.Fault{Endpoint: "registry", Status: 503, Count: 1})
	req, _ := http.NewRequest(http.MethodGet, "https://iad.ocir.io/v2/", nil)
	resp, body := do(t, client, req)
	if resp.StatusCode != 503 || !strings.Contains(string(body), `"errors"`) {
		t.Errorf("registry fault: status %d body %s, want 503 with a registry error body", resp.StatusCode, body)
	}

	e.AddFault(emulator.Fault{Endpoint: "imds", Status: 500, Count: 1})
	get := func() int {
		req, _ := http.NewRequest(http.MethodGet, e.MetadataURL()+"/instance/region", nil)
		req.Header.Set("Authorization", "Bearer Oracle")
		resp, _ := do(t, http.DefaultClient, req)
		return resp.StatusCode
	}
	if a, b := get(), get(); a != 500 || b != 200 {
		t.Errorf("imds fault: %d then %d, want 500 then 200", a, b)
	}

	e.AddFault(emulator.Fault{Endpoint: "registry-auth", Status: 500, Count: 1})
	req, _ = http.NewRequest(http.MethodGet, tokenURL("iad.ocir.io")+"?service=iad.ocir.io", nil)
	if resp, _ := do(t, client, req); resp.StatusCode != 500 {
		t.Errorf("registry-auth fault: status %d, want 500", resp.StatusCode)
	}
}

func TestConcurrentTokenRequestsAreAllCounted(t *testing.T) {
	e := startEmulator(t, emulator.Options{})
	client := proxyClient(t, e)
	p := apiKeyProvider(t, e, "DEFAULT", "")
	const n = 16
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodGet, tokenURL("iad.ocir.io"), nil)
			req.Header.Set("Date", time.Now().UTC().Format(http.TimeFormat))
			signWith(t, p, req)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			statuses[i] = resp.StatusCode
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("request %d: status %d", i, s)
		}
	}
	if got := e.Count("token"); got != n {
		t.Errorf(`Count("token") = %d, want %d`, got, n)
	}
	if got := len(e.IssuedTokens()); got != n {
		t.Errorf("%d issued tokens, want %d", got, n)
	}
}
