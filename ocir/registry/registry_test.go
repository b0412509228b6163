package registry

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHostExtractsWhatClientsSend(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"iad.ocir.io", "iad.ocir.io"},
		{"IAD.OCIR.IO", "iad.ocir.io"},
		{"https://iad.ocir.io", "iad.ocir.io"},
		{"https://iad.ocir.io/v2/", "iad.ocir.io"},
		{"iad.ocir.io:443", "iad.ocir.io"},
		{"https://iad.ocir.io:443/v1/", "iad.ocir.io"},
		{"iad.ocir.io/ns/repo", "iad.ocir.io"},
		{"iad.ocir.io/ns/repo:tag", "iad.ocir.io"},
		{"  iad.ocir.io\n", "iad.ocir.io"},
		{"iad.ocir.io.", "iad.ocir.io"},
		{"mirror.internal:5000", "mirror.internal:5000"},
		{"http://localhost:443", "localhost:443"},
		{"127.0.0.1:5000/x", "127.0.0.1:5000"},
		{"[::1]:5000", "[::1]:5000"},
	}
	for _, tt := range tests {
		got, err := Host(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("Host(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestHostRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "   ", "ftp://iad.ocir.io", "user:pw@iad.ocir.io", "iad.ocir.io:", "iad.ocir.io:99999",
		"iad.ocir.io:abc", "-bad.ocir.io", "bad..ocir.io", "iad ocir io", "https://", strings.Repeat("a", 3000), "iad.ocir.io%00",
		// A query, a fragment or an "@" is never part of what a client
		// sends for a registry, and parsers disagree on where such a
		// URL's host is ("iad.ocir.io#@evil.example" is evil.example's to
		// a parser that splits at the last "@").
		"iad.ocir.io#@evil.example", "iad.ocir.io?@evil.example", "https://iad.ocir.io#@evil.example",
		"iad.ocir.io?x", "iad.ocir.io#", "iad.ocir.io/v2/?x", "iad.ocir.io/ns@evil.example", "https://evil.example\\@iad.ocir.io"} {
		if got, err := Host(in); err == nil {
			t.Errorf("Host(%q) = %q, want error", in, got)
		} else if !errors.Is(err, ErrInvalidServerURL) {
			t.Errorf("Host(%q) error %v does not wrap ErrInvalidServerURL", in, err)
		}
	}
}

func TestRecognizeAcceptsEveryOCIRForm(t *testing.T) {
	tbl := DefaultTable()
	tests := []struct {
		host   string
		form   Form
		region string
	}{
		{"iad.ocir.io", FormKey, "us-ashburn-1"},
		{"us-ashburn-1.ocir.io", FormID, "us-ashburn-1"},
		{"ocir.us-ashburn-1.oci.oraclecloud.com", FormDomain, "us-ashburn-1"},
		{"fra.ocir.io", FormKey, "eu-frankfurt-1"},
		{"ocir.eu-frankfurt-1.oci.oraclecloud.com", FormDomain, "eu-frankfurt-1"},
	}
	for _, tt := range tests {
		r, ok := tbl.Recognize(tt.host)
		if !ok || r.Form != tt.form || r.Region.ID != tt.region || r.Host != tt.host {
			t.Errorf("Recognize(%q) = %+v, %v; want form %v region %s", tt.host, r, ok, tt.form, tt.region)
		}
	}
	// Every SDK region in every realm is recognised in the domain form.
	for _, reg := range tbl.Regions("") {
		for _, h := range reg.Hosts() {
			if r, ok := tbl.Recognize(h); !ok || r.Region != reg {
				t.Errorf("region %s: host %s not recognised", reg.ID, h)
			}
		}
	}
}

func TestRecognizeRejectsLookAlikes(t *testing.T) {
	tbl := DefaultTable()
	// A government-realm region in the oc1-only short form.
	var gov Region
	for _, r := range tbl.Regions("") {
		if r.Realm != "oc1" {
			gov = r
			break
		}
	}
	if gov.ID == "" {
		t.Fatal("SDK table has no non-oc1 region")
	}
	for _, host := range []string{
		"ocir.io", "xxx.ocir.io", "iad.ocir.io.evil.com", "evil-iad.ocir.io", "iad.ocir.io:5000",
		"iad.ocir.com", "iad.0cir.io", "ocir.us-ashburn-1.oci.oraclecloud.com.evil.com",
		"ocir.us-ashburn-1.oci.oraclegovcloud.com", // right region, wrong realm domain
		"ocir.us-nowhere-1.oci.oraclecloud.com", "registry.us-ashburn-1.oci.oraclecloud.com",
		"ocir.us-ashburn-1.oraclecloud.com", "a.b.iad.ocir.io", "docker.io", "ghcr.io",
		gov.Key + ".ocir.io", gov.ID + ".ocir.io",
	} {
		if r, ok := tbl.Recognize(host); ok {
			t.Errorf("Recognize(%q) = %+v, want not OCIR", host, r)
		}
	}
}

func TestRegionHostsPerRealm(t *testing.T) {
	tbl := DefaultTable()
	iad, ok := tbl.Lookup("IAD")
	if !ok {
		t.Fatal("iad unknown")
	}
	if got := strings.Join(iad.Hosts(), ","); got != "iad.ocir.io,ocir.us-ashburn-1.oci.oraclecloud.com" {
		t.Errorf("iad hosts = %s", got)
	}
	if r, ok := tbl.Lookup("us-ashburn-1"); !ok || r != iad {
		t.Errorf("Lookup by id = %+v %v", r, ok)
	}
	for _, r := range tbl.Regions("oc2") {
		if h := r.Hosts(); len(h) != 1 || !strings.HasPrefix(h[0], "ocir.") {
			t.Errorf("non-commercial region %s got hosts %v", r.ID, h)
		}
	}
	if d := tbl.Realms()["oc1"]; d != "oraclecloud.com" {
		t.Errorf("oc1 domain = %q", d)
	}
}

func TestLoadTableAddsConfiguredRegions(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".oci"), 0o700); err != nil {
		t.Fatal(err)
	}
	file := `[{"realmKey":"oc99","realmDomainComponent":"example-cloud.test","regionKey":"zzz","regionIdentifier":"xx-newcity-1"}]`
	if err := os.WriteFile(filepath.Join(home, ".oci", "regions-config.json"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"OCI_REGION_METADATA": `{"realmKey":"oc1","realmDomainComponent":"oraclecloud.com","regionKey":"qqq","regionIdentifier":"us-future-9"}`}
	tbl, err := LoadTable(func(k string) string { return env[k] }, home)
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"ocir.xx-newcity-1.oci.example-cloud.test", "qqq.ocir.io", "us-future-9.ocir.io", "ocir.us-future-9.oci.oraclecloud.com"} {
		if _, ok := tbl.Recognize(host); !ok {
			t.Errorf("%s not recognised", host)
		}
	}
	if _, ok := tbl.Recognize("zzz.ocir.io"); ok {
		t.Error("a non-oc1 region must not get the short ocir.io form")
	}

	env["OCI_REGION_METADATA"] = `{"realmKey":"oc1"}`
	if _, err := LoadTable(func(k string) string { return env[k] }, home); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("incomplete OCI_REGION_METADATA: err = %v", err)
	}
	env["OCI_REGION_METADATA"] = `not json`
	if _, err := LoadTable(func(k string) string { return env[k] }, home); err == nil {
		t.Error("malformed OCI_REGION_METADATA accepted")
	}
}

func TestMatchImageFollowsKubeletRules(t *testing.T) {
	tests := []struct {
		pattern, image string
		want           bool
	}{
		{"*.ocir.io", "iad.ocir.io", true},
		{"*.ocir.io", "iad.ocir.io/ns/repo", true},
		{"*.ocir.io", "a.b.ocir.io", false},
		{"*.ocir.io", "ocir.us-ashburn-1.oci.oraclecloud.com", false},
		{"ocir.*.oci.oraclecloud.com", "ocir.us-ashburn-1.oci.oraclecloud.com", true},
		{"iad.ocir.io:5000", "iad.ocir.io", false},
		{"iad.ocir.io", "iad.ocir.io:5000", false},
		{"iad.ocir.io/ns", "iad.ocir.io/ns/repo", true},
		{"iad.ocir.io/ns", "iad.ocir.io/other", false},
		{"*.ocir.io", "IAD.OCIR.IO", true},
		{"i*.ocir.io", "iad.ocir.io", true},
		{"[", "iad.ocir.io", false},
	}
	for _, tt := range tests {
		if got := MatchImage(tt.pattern, tt.image); got != tt.want {
			t.Errorf("MatchImage(%q, %q) = %v, want %v", tt.pattern, tt.image, got, tt.want)
		}
	}
}

func FuzzHost(f *testing.F) {
	for _, s := range []string{"iad.ocir.io", "https://iad.ocir.io/v2/", "iad.ocir.io:443", "iad.ocir.io/ns/repo", "[::1]:80", "http://x:0"} {
		f.Add(s)
	}
	tbl := DefaultTable()
	f.Fuzz(func(t *testing.T, in string) {
		host, err := Host(in)
		if err != nil {
			return
		}
		// Canonical output is stable and lower case.
		again, err := Host(host)
		if err != nil || again != host {
			t.Fatalf("Host(%q) = %q, but Host(%q) = %q, %v", in, host, host, again, err)
		}
		if strings.ToLower(host) != host || strings.ContainsAny(host, "/@ ") {
			t.Fatalf("Host(%q) = %q is not canonical", in, host)
		}
		if r, ok := tbl.Recognize(host); ok && r.Host != host {
			t.Fatalf("Recognize changed host %q to %q", host, r.Host)
		}
		// A host handed out is plain ASCII whatever came in: nothing a
		// client would dial in another (IDNA) form.
		for i := 0; i < len(host); i++ {
			if host[i] < 0x21 || host[i] > 0x7e {
				t.Fatalf("Host(%q) = %q has byte 0x%02x", in, host, host[i])
			}
		}
		if strings.ContainsAny(in, "@?#") {
			t.Fatalf("Host(%q) = %q: accepted user info, a query or a fragment", in, host)
		}
		if nonASCII(strings.Trim(in, asciiSpace)) >= 0 {
			t.Fatalf("Host(%q) accepted non-ASCII input", in)
		}
	})
}

func TestHostRefusesEveryNonASCIIByte(t *testing.T) {
	tbl := DefaultTable()
	tests := []struct{ name, in string }{
		{"dotted capital I (folds to i)", "\u0130ad.ocir.io"},
		{"Kelvin sign (folds to k)", "ocir.us-ashburn-1.oci.oraclecloud.com\u212a"},
		{"Kelvin sign in a key", "\u212aix.ocir.io"},
		{"long s (folds to s)", "ocir.eu-frankfurt-1.oci.oraclecloud.com.\u017f"},
		{"fullwidth", "\uff49\uff41\uff44.ocir.io"},
		{"Cyrillic a", "i\u0430d.ocir.io"},
		{"zero-width joiner", "iad\u200d.ocir.io"},
		{"soft hyphen", "ia\u00add.ocir.io"},
		{"scheme with Kelvin", "http\u212a://iad.ocir.io"},
		{"non-ASCII only in the path", "iad.ocir.io/\u0130"},
		{"latin-1 byte", "iad.ocir.io\xff"},
		{"NUL", "iad.ocir.io\x00"},
		{"DEL", "iad.ocir.io\x7f"},
		{"tab inside", "iad.\tocir.io"},
		{"trailing no-break space", "iad.ocir.io\u00a0"},
		{"leading next-line", "\u0085iad.ocir.io"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, err := Host(tt.in); err == nil {
				t.Errorf("Host(%q) = %q, want error", tt.in, h)
			}
			if _, ok := tbl.Recognize(tt.in); ok {
				t.Errorf("Recognize(%q) = true", tt.in)
			}
			if IsCanonical(tt.in) {
				t.Errorf("IsCanonical(%q) = true", tt.in)
			}
		})
	}
}

func TestExtraRegionsMayAddButNotReplace(t *testing.T) {
	tests := []struct {
		name    string
		env     string
		wantErr string
		check   func(t *testing.T, tbl *Table)
	}{
		{"new region is added", `{"regionKey":"zzz","regionIdentifier":"us-newtown-1","realmKey":"oc1","realmDomainComponent":"oraclecloud.com"}`, "",
			func(t *testing.T, tbl *Table) {
				if _, ok := tbl.Recognize("zzz.ocir.io"); !ok {
					t.Error("new region not recognised")
				}
			}},
		{"built-in region described again is fine", `{"regionKey":"iad","regionIdentifier":"us-ashburn-1","realmKey":"oc1","realmDomainComponent":"oraclecloud.com"}`, "", nil},
		{"built-in key pointed at another region", `{"regionKey":"iad","regionIdentifier":"evil-region-1","realmKey":"oc1","realmDomainComponent":"oraclecloud.com"}`, "already region us-ashburn-1", nil},
		{"built-in key in upper case", `{"regionKey":"IAD","regionIdentifier":"evil-region-1","realmKey":"oc1","realmDomainComponent":"oraclecloud.com"}`, "already region", nil},
		{"built-in identifier moved to another realm", `{"regionKey":"qqq","regionIdentifier":"us-ashburn-1","realmKey":"oc99","realmDomainComponent":"evil.example"}`, "already region key iad", nil},
		{"non-ASCII key", `{"regionKey":"\u0130ad","regionIdentifier":"x-1","realmKey":"oc1","realmDomainComponent":"oraclecloud.com"}`, "not a valid DNS name", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tbl, err := LoadTable(func(k string) string {
				if k == "OCI_REGION_METADATA" {
					return tt.env
				}
				return ""
			}, "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r, ok := tbl.Recognize("iad.ocir.io"); !ok || r.Region.ID != "us-ashburn-1" {
				t.Errorf("iad.ocir.io = %+v, %v", r, ok)
			}
			if tt.check != nil {
				tt.check(t, tbl)
			}
		})
	}
}

// The table scans sdkRegions as generated, without normalising it: every
// entry must already be what add would make of it, and no key or
// identifier may name two regions.
func TestSDKRegionsAreCanonical(t *testing.T) {
	keys, ids := map[string]bool{}, map[string]bool{}
	for _, r := range sdkRegions {
		if err := r.validate(); err != nil {
			t.Errorf("%+v: %v", r, err)
		}
		for _, v := range []string{r.Key, r.ID, r.Realm, r.Domain} {
			if v != asciiLower(v) {
				t.Errorf("%+v: %q is not lower case", r, v)
			}
		}
		if keys[r.Key] || ids[r.ID] {
			t.Errorf("%+v: key or identifier seen before", r)
		}
		keys[r.Key], ids[r.ID] = true, true
	}
	if len(sdkRegions) < 50 {
		t.Errorf("only %d regions compiled in", len(sdkRegions))
	}
	d := DefaultTable()
	if got := len(d.Regions("")); got != len(sdkRegions) {
		t.Errorf("DefaultTable has %d regions, want %d", got, len(sdkRegions))
	}
	if r, ok := d.Lookup("IAD"); !ok || r.ID != "us-ashburn-1" {
		t.Errorf("Lookup(IAD) = %+v, %v", r, ok)
	}
	var zero Table
	if _, ok := zero.Lookup("iad"); ok {
		t.Error("the zero Table knows iad")
	}
}
