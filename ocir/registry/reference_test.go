package registry

import (
	"strings"
	"testing"
)

func TestParseImage(t *testing.T) {
	cases := []struct{ in, host, repo string }{
		{"iad.ocir.io", "iad.ocir.io", ""},
		{"iad.ocir.io/ns/app", "iad.ocir.io", "ns/app"},
		{"https://iad.ocir.io/v2/ns/app/", "iad.ocir.io", "ns/app"},
		{"iad.ocir.io:443/ns/app:1.0", "iad.ocir.io", "ns/app"},
		{"iad.ocir.io/ns/app@sha256:abcd", "iad.ocir.io", "ns/app"},
		{"IAD.OCIR.IO/ns/team/app", "iad.ocir.io", "ns/team/app"},
	}
	for _, tc := range cases {
		h, r, err := ParseImage(tc.in)
		if err != nil || h != tc.host || r != tc.repo {
			t.Errorf("%q: got %q %q %v", tc.in, h, r, err)
		}
	}
	for _, bad := range []string{"", "iad.ocir.io/NS/App", "iad.ocir.io/a//b", "iad.ocir.io/-a", "a@b/c"} {
		if _, _, err := ParseImage(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSplitImage(t *testing.T) {
	for _, tc := range []struct{ image, host, repo string }{
		{"iad.ocir.io/ns/app", "iad.ocir.io", "ns/app"},
		{"iad.ocir.io/ns/app:1.0", "iad.ocir.io", "ns/app"},
		{"iad.ocir.io/ns/app@sha256:abc", "iad.ocir.io", "ns/app"},
		{"localhost:5000/ns/app", "localhost:5000", "ns/app"},
		{"iad.ocir.io", "iad.ocir.io", ""},
	} {
		h, r := SplitImage(tc.image)
		if h != tc.host || r != tc.repo {
			t.Errorf("SplitImage(%q) = %q %q", tc.image, h, r)
		}
	}
}

// FuzzParseImage checks the registry[/repository] parser doctor uses: no panic,
// and what it accepts is a canonical host and a valid repository path.
func FuzzParseImage(f *testing.F) {
	for _, s := range []string{
		"iad.ocir.io", "iad.ocir.io/ns/app", "https://iad.ocir.io/v2/ns/app:1.0", "iad.ocir.io/ns/app@sha256:abc",
		"IAD.OCIR.IO/NS/APP", "iad.ocir.io:443/a/b/c", "iad.ocir.io//", "/ns/app", "iad.ocir.io/a..b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		host, repo, err := ParseImage(in)
		if err != nil {
			return
		}
		if h, err := Host(host); err != nil || h != host {
			t.Fatalf("host %q is not canonical (%q, %v)", host, h, err)
		}
		if repo == "" {
			return
		}
		for _, c := range strings.Split(repo, "/") {
			if !repoComponent().MatchString(c) {
				t.Fatalf("invalid repository %q accepted", repo)
			}
		}
	})
}

func TestHasOCIRShapeAcceptsOCIRHostNamesOfAnyRegion(t *testing.T) {
	for host, want := range map[string]bool{
		"iad.ocir.io":                           true,
		"xyz.ocir.io":                           true,
		"a.b.ocir.io":                           true,
		"ocir.us-ashburn-1.oci.oraclecloud.com": true,
		"ocir.nowhere-1.oci.example.com":        true,
		"ocir.io":                               false,
		"docker.io":                             false,
		"ocir.us-ashburn-1.example.com":         false,
		"registry.oci.oraclecloud.com":          false,
	} {
		if got := HasOCIRShape(host); got != want {
			t.Errorf("HasOCIRShape(%q) = %v, want %v", host, got, want)
		}
	}
}
