package emulator_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

func TestControlAPI(t *testing.T) {
	dir := t.TempDir()
	e := startEmulator(t, emulator.Options{Dir: dir})
	client := proxyClient(t, e)
	p := apiKeyProvider(t, e, "DEFAULT", "")
	call := func(method, path, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, e.ControlURL()+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp, b := do(t, http.DefaultClient, req)
		return resp.StatusCode, string(b)
	}
	tokenStatus := func() (int, []byte) {
		resp, body := signedGet(t, client, p, tokenURL("iad.ocir.io"))
		return resp.StatusCode, body
	}

	if code, body := call("GET", "/healthz", ""); code != 200 || body != "ok\n" {
		t.Errorf("healthz: %d %q", code, body)
	}
	envFile, _ := os.ReadFile(filepath.Join(dir, "env"))
	if code, body := call("GET", "/env", ""); code != 200 || body != string(envFile) {
		t.Errorf("env: %d %q, want the env file %q", code, body, envFile)
	}

	// Faults: strict JSON, durations as Go strings.
	for _, bad := range []string{
		`{"endpoint":"nope","status":500}`,
		`{"endpoint":"token","status":500,"extra":1}`,
		`{"endpoint":"token","delay":"soon"}`,
		`{"endpoint":"token","status":42}`,
		`not json`,
	} {
		if code, _ := call("POST", "/faults", bad); code != 400 {
			t.Errorf("POST /faults %s: status %d, want 400", bad, code)
		}
	}
	if code, body := call("POST", "/faults", `{"endpoint":"token","host":"iad.ocir.io","status":503,"count":1,"delay":"10ms","header":{"Retry-After":"1"}}`); code != 204 {
		t.Fatalf("POST /faults: %d %s", code, body)
	}
	if code, body := tokenStatus(); code != 503 {
		t.Errorf("with fault: %d %s, want 503", code, body)
	}
	if code, body := tokenStatus(); code != 200 {
		t.Errorf("after fault: %d %s, want 200", code, body)
	}
	if code, _ := call("POST", "/faults", `{"endpoint":"token","status":500}`); code != 204 {
		t.Fatal("POST /faults failed")
	}
	if code, _ := call("DELETE", "/faults", ""); code != 204 {
		t.Fatal("DELETE /faults failed")
	}
	if code, body := tokenStatus(); code != 200 {
		t.Errorf("after DELETE /faults: %d %s, want 200", code, body)
	}

	// Counters.
	code, body := call("GET", "/counters", "")
	var counters struct {
		Counts map[string]int            `json:"counts"`
		Hosts  map[string]map[string]int `json:"hosts"`
	}
	if err := json.Unmarshal([]byte(body), &counters); code != 200 || err != nil {
		t.Fatalf("counters: %d %s %v", code, body, err)
	}
	if counters.Counts["token"] != 2 || counters.Counts["token-attempts"] != 3 || counters.Hosts["token"]["iad.ocir.io"] != 2 {
		t.Errorf("counters = %+v", counters)
	}
	if code, _ := call("POST", "/reset", ""); code != 204 || e.Count("token") != 0 {
		t.Errorf("reset: %d, token count %d", code, e.Count("token"))
	}

	// Issued tokens.
	var issued []emulator.IssuedToken
	_, body = call("GET", "/tokens", "")
	if err := json.Unmarshal([]byte(body), &issued); err != nil || len(issued) != 2 || issued[0].Kind != "api_key" {
		t.Errorf("tokens: %s (%v)", body, err)
	}

	// Clock.
	if code, _ := call("POST", "/clock?offset=-10m", ""); code != 204 {
		t.Fatal("POST /clock failed")
	}
	if code, body := tokenStatus(); code != 401 || !strings.Contains(decodeOCIError(t, body).Message, "clock skew") {
		t.Errorf("clock -10m: %d %s, want 401 clock skew", code, body)
	}
	if code, _ := call("POST", "/clock?offset=0s", ""); code != 204 {
		t.Fatal("POST /clock failed")
	}
	if code, _ := call("POST", "/clock?offset=later", ""); code != 400 {
		t.Errorf("bad clock offset: %d, want 400", code)
	}

	// Token TTL.
	if code, _ := call("POST", "/token-ttl?d=10m", ""); code != 204 {
		t.Fatal("POST /token-ttl failed")
	}
	if code, body := tokenStatus(); code != 200 || *decodeToken(t, body).ExpiresIn != 600 {
		t.Errorf("ttl 10m: %d %s", code, body)
	}

	// Deny.
	if code, _ := call("POST", "/deny?repo=demotenancy/hello", ""); code != 204 {
		t.Fatal("POST /deny failed")
	}
	if code, _ := call("POST", "/deny?repo=", ""); code != 400 {
		t.Errorf("empty deny: %d, want 400", code)
	}
	tok := ocirToken(t, e, client, "iad.ocir.io")
	req, _ := http.NewRequest(http.MethodGet, tokenURL("iad.ocir.io")+"?service=iad.ocir.io&scope=repository:demotenancy/hello:pull", nil)
	req.SetBasicAuth("BEARER_TOKEN", tok)
	_, regBody := do(t, client, req)
	manifest := func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, "https://iad.ocir.io/v2/demotenancy/hello/manifests/latest", nil)
		req.Header.Set("Authorization", "Bearer "+decodeToken(t, regBody).Token)
		return req
	}
	if resp, body := do(t, client, manifest()); resp.StatusCode != 403 || !strings.Contains(string(body), "DENIED") {
		t.Errorf("denied repo: %d %s, want 403 DENIED", resp.StatusCode, body)
	}

	// Undo the deny.
	if code, _ := call("DELETE", "/deny?repo=", ""); code != 400 {
		t.Errorf("empty undeny: %d, want 400", code)
	}
	if code, _ := call("DELETE", "/deny?repo=demotenancy/hello", ""); code != 204 {
		t.Fatal("DELETE /deny failed")
	}
	if resp, body := do(t, client, manifest()); resp.StatusCode != 200 {
		t.Errorf("after DELETE /deny: %d %s, want 200", resp.StatusCode, body)
	}
}
