package config

import (
	"net/url"
	"strings"
	"testing"
)

func TestFederationRules(t *testing.T) {
	tests := []struct {
		name, yaml, wantErr string
	}{
		{"full block", `registries:
  - match: "*.ocir.io"
    auth: workload_identity_federation
    federation:
      domainURL: https://idcs-0123.identity.oraclecloud.com/
      clientID: abc
      clientSecretFile: /run/secret
      tokenFile: /var/run/token
      audience: ocir
      tokenType: rpst
      resType: workload
`, ""},
		{"auth alone uses the environment", "registries:\n  - match: '*.ocir.io'\n    auth: workload_identity_federation\n", ""},
		{"block with another auth", "registries:\n  - match: '*.ocir.io'\n    auth: api_key\n    federation:\n      clientID: x\n", "federation only applies to auth workload_identity_federation"},
		{"secret inline is not a field", "registries:\n  - match: '*.ocir.io'\n    auth: workload_identity_federation\n    federation:\n      clientSecret: s\n", "clientSecret"},
		{"plain http domain", "registries:\n  - match: '*.ocir.io'\n    auth: workload_identity_federation\n    federation:\n      domainURL: http://idcs-1.identity.oraclecloud.com\n", "plain http is only allowed on loopback"},
		{"domain with a path", "registries:\n  - match: '*.ocir.io'\n    auth: workload_identity_federation\n    federation:\n      domainURL: https://idcs-1.identity.oraclecloud.com/oauth2/v1/token\n", "without path"},
		{"rpst without resType", "registries:\n  - match: '*.ocir.io'\n    auth: workload_identity_federation\n    federation:\n      tokenType: rpst\n", "needs a resource type"},
		{"unknown token type", "registries:\n  - match: '*.ocir.io'\n    auth: workload_identity_federation\n    federation:\n      tokenType: jwt\n", `token type "jwt" is not upst or rpst`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.yaml))
			if tt.wantErr == "" {
				if err != nil || len(f.Registries) != 1 || f.Registries[0].Auth != AuthWorkloadIdentityFederation {
					t.Fatalf("Parse = %+v, %v", f, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestDomainURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://idcs-abc.identity.oraclecloud.com":      "https://idcs-abc.identity.oraclecloud.com",
		"https://idcs-abc.identity.oraclecloud.com/":     "https://idcs-abc.identity.oraclecloud.com",
		" https://idcs-abc.identity.oraclecloud.com":     "https://idcs-abc.identity.oraclecloud.com",
		"http://127.0.0.1:8443":                          "http://127.0.0.1:8443",
		"https://user@idcs-abc.identity.oraclecloud.com": "",
		"https://idcs-abc.identity.oraclecloud.com?x=1":  "",
		"https://idcs-abc.identity.oraclecloud.com#x":    "",
		"idcs-abc.identity.oraclecloud.com":              "",
		"ftp://idcs-abc.identity.oraclecloud.com":        "",
		"http://idcs-abc.identity.oraclecloud.com":       "",
	} {
		got, err := DomainURL(in)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("DomainURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// FuzzDomainURL: whatever is accepted is an https (or loopback http) origin
// with nothing after the host, since the client secret is sent there.
func FuzzDomainURL(f *testing.F) {
	f.Add("https://idcs-abc.identity.oraclecloud.com/")
	f.Add("http://[::1]:80")
	f.Add("https://a@b/c?d#e")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := DomainURL(in)
		if err != nil {
			return
		}
		u, perr := url.Parse(got)
		if perr != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			t.Fatalf("DomainURL(%q) accepted %q", in, got)
		}
		if u.Scheme != "https" && !(u.Scheme == "http" && IsLoopback(u.Hostname())) {
			t.Fatalf("DomainURL(%q) accepted scheme %q for %q", in, u.Scheme, u.Host)
		}
	})
}
