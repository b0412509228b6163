package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
)

// Region is one OCI region: its three-letter key, its identifier, the realm
// it belongs to and the realm's second-level domain.
type Region struct {
	Key    string `json:"regionKey"`            // iad
	ID     string `json:"regionIdentifier"`     // us-ashburn-1
	Realm  string `json:"realmKey"`             // oc1
	Domain string `json:"realmDomainComponent"` // oraclecloud.com
}

// Hosts returns the registry host names a user is expected to configure for
// the region: the short <key>.ocir.io form (commercial realm only) and the
// ocir.<id>.oci.<domain> form that works in every realm.
func (r Region) Hosts() []string {
	var hosts []string
	if r.Realm == "oc1" {
		hosts = append(hosts, r.Key+".ocir.io")
	}
	return append(hosts, "ocir."+r.ID+".oci."+r.Domain)
}

// Form says which of the OCIR host name forms a host uses.
type Form int

// The host name forms OCIR answers on.
const (
	FormKey      Form = iota + 1 // <region-key>.ocir.io
	FormID                       // <region-id>.ocir.io
	FormDomain                   // ocir.<region-id>.oci.<realm-domain>
	FormMirror                   // a host the user configured explicitly
	FormDeclared                 // an OCIR host the config file declares (hosts:)
)

// Registry is a recognised OCIR host.
type Registry struct {
	// Host is the canonical host (lower case, no default port) used as the
	// cache key and as the key in every answer given to clients.
	Host   string
	Region Region // zero for mirrors
	Form   Form   // which host name form Host uses
	// TokenEndpoint overrides the token URL (mirrors only).
	TokenEndpoint string
}

// TokenURL is where OCIR issues bearer tokens for this host.
func (r Registry) TokenURL() string {
	if r.TokenEndpoint != "" {
		return r.TokenEndpoint
	}
	return "https://" + r.Host + "/20180419/docker/token"
}

// Table is a set of known regions. The zero value knows nothing; use
// DefaultTable or LoadTable.
//
// Lookups scan the compiled-in list (under a hundred regions) instead of
// maps built from it: a warm `get` recognises one host per process, and
// building maps of every region at each start cost more than the scan.
type Table struct {
	base  []Region // sdkRegions: lower case, unique (TestSDKRegionsAreCanonical)
	extra []Region // described by the user, lower-cased by add
}

// DefaultTable returns the regions compiled in from the SDK.
func DefaultTable() *Table {
	return &Table{base: sdkRegions}
}

// find returns the first region, compiled in before user-described, that
// match accepts.
func (t *Table) find(match func(Region) bool) (Region, bool) {
	for _, list := range [2][]Region{t.base, t.extra} {
		for _, r := range list {
			if match(r) {
				return r, true
			}
		}
	}
	return Region{}, false
}

func (t *Table) byID(id string) (Region, bool) {
	return t.find(func(r Region) bool { return r.ID == id })
}

func (t *Table) byKey(key string) (Region, bool) {
	return t.find(func(r Region) bool { return r.Key == key })
}

func (t *Table) add(r Region) {
	r.Key, r.ID = asciiLower(r.Key), asciiLower(r.ID)
	r.Realm, r.Domain = asciiLower(r.Realm), asciiLower(r.Domain)
	if _, ok := t.byID(r.ID); ok {
		return
	}
	t.extra = append(t.extra, r)
}

// addExtra adds a region described by the user. It may add regions but
// never replace a known one: the SDK resolves built-in keys and
// identifiers first, so a clash would make this table and the SDK disagree
// about which host a region's tokens are for.
func (t *Table) addExtra(r Region) error {
	key, id := asciiLower(r.Key), asciiLower(r.ID)
	if old, ok := t.byKey(key); ok {
		if old.ID == id && old.Realm == asciiLower(r.Realm) && old.Domain == asciiLower(r.Domain) {
			return nil // the same region described again
		}
		return fmt.Errorf("regionKey %q is already region %s (%s); a description may add regions, not replace them", r.Key, old.ID, old.Realm)
	}
	if old, ok := t.byID(id); ok {
		if old.Key == key && old.Realm == asciiLower(r.Realm) && old.Domain == asciiLower(r.Domain) {
			return nil
		}
		return fmt.Errorf("regionIdentifier %q is already region key %s (%s); a description may add regions, not replace them", r.ID, old.Key, old.Realm)
	}
	t.add(r)
	return nil
}

// LoadTable returns the SDK regions plus those described the way the OCI
// SDKs and CLI accept new regions: the OCI_REGION_METADATA environment
// variable (one JSON object) and ~/.oci/regions-config.json (a JSON array).
// home may be empty when there is no home directory.
func LoadTable(getenv func(string) string, home string) (*Table, error) {
	t := DefaultTable()
	if home != "" {
		path := filepath.Join(home, ".oci", "regions-config.json")
		// It adds realms and regions, so it decides which hosts are sent
		// tokens: refused, like the config file, when another user could
		// have written it.
		raw, err := userfile.ReadTrusted(path, userfile.ConfigLimit)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read region metadata %s: %w", path, err)
		default:
			var extra []Region
			if err := json.Unmarshal(raw, &extra); err != nil {
				return nil, fmt.Errorf("parse region metadata %s: %w", path, err)
			}
			for i, r := range extra {
				err := r.validate()
				if err == nil {
					err = t.addExtra(r)
				}
				if err != nil {
					return nil, fmt.Errorf("region metadata %s entry %d: %w", path, i, err)
				}
			}
		}
	}
	if v := strings.TrimSpace(getenv("OCI_REGION_METADATA")); v != "" {
		var r Region
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("parse OCI_REGION_METADATA: %w", err)
		}
		err := r.validate()
		if err == nil {
			err = t.addExtra(r)
		}
		if err != nil {
			return nil, fmt.Errorf("OCI_REGION_METADATA: %w", err)
		}
	}
	return t, nil
}

func (r Region) validate() error {
	for name, v := range map[string]string{"regionKey": r.Key, "regionIdentifier": r.ID, "realmKey": r.Realm, "realmDomainComponent": r.Domain} {
		if v == "" {
			return fmt.Errorf("missing %s", name)
		}
		if !validDNSName(asciiLower(v)) {
			return fmt.Errorf("%s %q is not a valid DNS name part", name, v)
		}
	}
	return nil
}

// Lookup finds a region by key (iad) or identifier (us-ashburn-1).
func (t *Table) Lookup(keyOrID string) (Region, bool) {
	s := asciiLower(strings.TrimSpace(keyOrID))
	if r, ok := t.byID(s); ok {
		return r, true
	}
	return t.byKey(s)
}

// Regions returns the regions of one realm (all realms when realm is
// empty), sorted by identifier.
func (t *Table) Regions(realm string) []Region {
	var out []Region
	for _, r := range slices.Concat(t.base, t.extra) {
		if realm == "" || r.Realm == asciiLower(realm) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Realms maps every known realm key (oc1) to its domain (oraclecloud.com).
func (t *Table) Realms() map[string]string {
	out := map[string]string{}
	for _, r := range slices.Concat(t.base, t.extra) {
		out[r.Realm] = r.Domain
	}
	return out
}

// Recognize reports whether host (already canonical, see Host) is an OCIR
// registry host, and which region it serves.
func (t *Table) Recognize(host string) (Registry, bool) {
	if strings.Contains(host, ":") || nonASCII(host) >= 0 {
		return Registry{}, false // OCIR only listens on the default port
	}
	if first, rest, ok := strings.Cut(host, "."); ok && rest == "ocir.io" {
		if r, ok := t.byKey(first); ok && r.Realm == "oc1" {
			return Registry{Host: host, Region: r, Form: FormKey}, true
		}
		if r, ok := t.byID(first); ok && r.Realm == "oc1" {
			return Registry{Host: host, Region: r, Form: FormID}, true
		}
		return Registry{}, false
	}
	if id, domain, ok := domainShape(host); ok {
		if r, ok := t.byID(id); ok && r.Domain == domain {
			return Registry{Host: host, Region: r, Form: FormDomain}, true
		}
	}
	return Registry{}, false
}

// HasOCIRShape reports whether a canonical host has the shape of an OCIR
// host name, *.ocir.io or ocir.<region-id>.oci.<realm-domain>, whatever
// region it names: a host a user meant as OCIR even where Recognize does
// not know it (a realm missing from the table, a typo in the region).
func HasOCIRShape(host string) bool {
	_, _, ok := domainShape(host)
	return ok || strings.HasSuffix(host, ".ocir.io")
}

// domainShape splits a host of the shape ocir.<region-id>.oci.<realm-domain>.
func domainShape(host string) (regionID, domain string, ok bool) {
	labels := strings.SplitN(host, ".", 4)
	if len(labels) == 4 && labels[0] == "ocir" && labels[2] == "oci" {
		return labels[1], labels[3], true
	}
	return "", "", false
}

// ErrInvalidServerURL is returned by Host for input that names no host.
var ErrInvalidServerURL = errors.New("invalid registry server URL")

// Host extracts the canonical registry host from whatever a client sends as
// a server URL: "iad.ocir.io", "https://iad.ocir.io/v2/", "iad.ocir.io:443",
// "iad.ocir.io/ns/repo", in any letter case. The default HTTPS port is
// dropped; any other port is kept. Nothing here decides whether the host is
// an OCIR host.
//
// Host is the one gate for every host a token or a signature may go to
// (server URLs, mirror hosts and token URLs, verify-pull realms): it works
// on bytes, refuses any byte outside printable ASCII before anything else
// and lower-cases ASCII letters only. Unicode case folding would turn
// "\u0130ad.ocir.io" into "iad.ocir.io" while a Go client dials the IDNA
// form of the original, a different domain, and sends it the token.
func Host(serverURL string) (string, error) {
	// ASCII white space only: strings.TrimSpace would also drop Unicode
	// spaces, hiding them from the byte check below.
	s := strings.Trim(serverURL, asciiSpace)
	if s == "" {
		return "", fmt.Errorf("%w: empty", ErrInvalidServerURL)
	}
	if len(s) > 2048 {
		return "", fmt.Errorf("%w: longer than 2048 bytes", ErrInvalidServerURL)
	}
	if i := nonASCII(s); i >= 0 {
		return "", fmt.Errorf("%w: byte 0x%02x at offset %d is not printable ASCII (host names are matched as ASCII bytes)", ErrInvalidServerURL, s[i], i)
	}
	scheme := ""
	if i := strings.Index(s, "://"); i >= 0 {
		scheme = asciiLower(s[:i])
		if scheme != "https" && scheme != "http" {
			return "", fmt.Errorf("%w: unsupported scheme %q", ErrInvalidServerURL, scheme)
		}
		s = s[i+3:]
	}
	// Clients send a host, maybe with a path; never user info, a query or
	// a fragment. Those are refused anywhere, not just before the first
	// "/": URL parsers disagree on where the host of
	// "iad.ocir.io#@other.example" is, and the token must go to the host
	// every one of them sees.
	if i := strings.IndexAny(s, "@?#"); i >= 0 {
		return "", fmt.Errorf("%w: %q at offset %d (user info, a query or a fragment is not part of a registry's address)", ErrInvalidServerURL, s[i], i)
	}
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s = s[:i]
	}
	u, err := url.Parse("https://" + s)
	if err != nil || u.Host != s {
		return "", fmt.Errorf("%w: %q", ErrInvalidServerURL, serverURL)
	}
	host := strings.TrimSuffix(asciiLower(u.Hostname()), ".")
	port := u.Port()
	if strings.HasSuffix(s, ":") {
		return "", fmt.Errorf("%w: empty port in %q", ErrInvalidServerURL, serverURL)
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%w: bad port in %q", ErrInvalidServerURL, serverURL)
		}
		port = strconv.Itoa(n)
	}
	if net.ParseIP(host) == nil && !validDNSName(host) {
		return "", fmt.Errorf("%w: bad host name in %q", ErrInvalidServerURL, serverURL)
	}
	if port == "443" && scheme != "http" {
		port = ""
	}
	if port != "" {
		return net.JoinHostPort(host, port), nil
	}
	if strings.Contains(host, ":") {
		return "[" + host + "]", nil
	}
	return host, nil
}

// asciiSpace is the white space trimmed around a server URL (docker
// writes it with a trailing newline).
const asciiSpace = " \t\r\n\v\f"

// nonASCII returns the offset of the first byte that is not printable
// ASCII, or -1.
func nonASCII(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return i
		}
	}
	return -1
}

// asciiLower lower-cases A-Z only; every other byte is left alone (and
// then refused by validDNSName if it has no place in a host name).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// IsCanonical reports whether host is exactly what Host returns for it:
// the form every recognition function expects.
func IsCanonical(host string) bool {
	h, err := Host(host)
	return err == nil && h == host
}

func validDNSName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}
