package helper

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// FuzzGetServerURL drives the get action with arbitrary stdin. Whatever
// arrives, the answer is either credentials for a recognised OCIR host or
// exactly "credentials not found", a token is only ever requested for a
// host the region table recognises, and nothing panics.
func FuzzGetServerURL(f *testing.F) {
	for _, s := range []string{
		"iad.ocir.io", "https://iad.ocir.io/v2/", "iad.ocir.io:443", "iad.ocir.io/ns/repo", "IAD.OCIR.IO",
		"ocir.us-ashburn-1.oci.oraclecloud.com", "docker.io", "iad.ocir.io.evil.example", "iad.ocir.io@evil",
		"http://iad.ocir.io:80", "[::1]:443", "", "\x00", "https://", "iad.ocir.io\nfra.ocir.io",
	} {
		f.Add(s)
	}
	table := registry.DefaultTable()
	f.Fuzz(func(t *testing.T, in string) {
		src := newFake(t) // fails the test if a token is requested for a foreign host
		h := New(src)
		var out bytes.Buffer
		code := h.Serve("get", strings.NewReader(in), &out)
		switch code {
		case ExitOK:
			var c struct{ ServerURL, Username, Secret string }
			if err := json.Unmarshal(out.Bytes(), &c); err != nil {
				t.Fatalf("success without JSON: %q", out.String())
			}
			host, err := registry.Host(c.ServerURL)
			if err != nil {
				t.Fatalf("credentials for an unparsable server URL %q", c.ServerURL)
			}
			if _, ok := table.Recognize(host); !ok {
				t.Fatalf("credentials handed to %q", host)
			}
			if c.Username != "BEARER_TOKEN" || c.Secret != "tok-123" {
				t.Fatalf("answer %+v", c)
			}
		case ExitFailure:
			s := out.String()
			if s != notFound && s != "no credentials server URL\n" && !strings.HasPrefix(s, "bufio.Scanner") {
				t.Fatalf("unexpected failure output %q", s)
			}
			if strings.Count(s, "\n") != 1 {
				t.Fatalf("failure output not one line: %q", s)
			}
		default:
			t.Fatalf("exit %d", code)
		}
	})
}
