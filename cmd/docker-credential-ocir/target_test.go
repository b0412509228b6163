package main

import (
	"strings"
	"testing"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// FuzzParseTarget checks doctor's registry[/repository] parser: no panic,
// and what it accepts is a canonical host and a valid repository path.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"iad.ocir.io", "iad.ocir.io/ns/app", "https://iad.ocir.io/v2/ns/app:1.0", "iad.ocir.io/ns/app@sha256:abc",
		"IAD.OCIR.IO/NS/APP", "iad.ocir.io:443/a/b/c", "iad.ocir.io//", "/ns/app", "iad.ocir.io/a..b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		host, repo, err := parseTarget(in)
		if err != nil {
			return
		}
		if h, err := registry.Host(host); err != nil || h != host {
			t.Fatalf("host %q is not canonical (%q, %v)", host, h, err)
		}
		if repo == "" {
			return
		}
		for _, c := range strings.Split(repo, "/") {
			if !repoComponent.MatchString(c) {
				t.Fatalf("invalid repository %q accepted", repo)
			}
		}
	})
}
