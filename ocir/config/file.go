package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// Identity types, spelled as OCI_CLI_AUTH spells them. This is the one
// list; package ocir re-exports the names for its callers.
const (
	AuthAuto              = "auto"
	AuthAPIKey            = "api_key"
	AuthSecurityToken     = "security_token"
	AuthInstancePrincipal = "instance_principal"
	AuthResourcePrincipal = "resource_principal"
	AuthOKEWorkload       = "oke_workload_identity"
	// AuthWorkloadIdentityFederation exchanges an OIDC subject token (CI
	// system, Kubernetes service account) for an OCI session token at an
	// identity domain.
	AuthWorkloadIdentityFederation = "workload_identity_federation"
)

// AuthTypes are the identity types a rule or OCI_CLI_AUTH may name, spelled
// as the OCI CLI spells them.
var AuthTypes = []string{AuthAuto, AuthAPIKey, AuthSecurityToken, AuthInstancePrincipal, AuthResourcePrincipal, AuthOKEWorkload, AuthWorkloadIdentityFederation}

// File is the optional YAML config file.
type File struct {
	Registries []Rule   `yaml:"registries"` // identity per registry; the first match wins
	Mirrors    []Mirror `yaml:"mirrors"`    // non-OCIR host names served like OCIR
	// Hosts declares OCIR host names the built-in region table does not
	// know yet (a new endpoint form), each served by a known region.
	Hosts []DeclaredHost `yaml:"hosts"`
}

// DeclaredHost is an extra OCIR host name: tokens for it are requested
// from https://<Host>/20180419/docker/token, signed by the identity the
// rules choose, exactly as for a built-in OCIR host.
type DeclaredHost struct {
	Host   string `yaml:"host"`   // DNS name, no port: https on 443 only
	Region string `yaml:"region"` // region key (iad) or identifier (us-ashburn-1)
}

// Rule picks the identity for registries matching a kubelet-style glob.
// Match names hosts only (rules choose an identity per registry, and the
// token cache is per registry): a path is refused at load time.
type Rule struct {
	Match      string `yaml:"match"`      // host glob, as the kubelet's matchImages ("*.ocir.io")
	Auth       string `yaml:"auth"`       // one of AuthTypes
	Profile    string `yaml:"profile"`    // OCI config profile (api_key, security_token)
	ConfigFile string `yaml:"configFile"` // OCI config file instead of OCI_CLI_CONFIG_FILE or ~/.oci/config
	// Federation applies to auth workload_identity_federation (wif.go).
	Federation *Federation `yaml:"federation"`
}

// Mirror is a registry host that is not an OCIR host name but must be
// treated as one, with tokens fetched from TokenURL.
type Mirror struct {
	Host     string `yaml:"host"`     // host or host:port, as clients send it
	TokenURL string `yaml:"tokenURL"` // https (http on loopback only), on an OCIR host or loopback
}

// Load reads the config file at path. A missing file is an empty config
// unless explicit (the user named it with OCIR_CONFIG or a flag).
func Load(path string, explicit bool) (*File, error) {
	if path == "" {
		return &File{}, nil
	}
	// Read only if nobody but its owner (this user or root) can have
	// written or replaced it: its rules and mirrors decide which hosts
	// receive tokens, so a file another user can edit could send them
	// anywhere.
	raw, err := userfile.ReadTrusted(path, userfile.ConfigLimit)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		return &File{}, nil
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrConfigNotFound, path)
		}
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	f, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return f, nil
}

// Parse decodes and validates a config file. Unknown keys are errors that
// name the key and its line.
func Parse(raw []byte) (*File, error) {
	f := &File{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return f, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(f); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		return nil, fmt.Errorf("invalid YAML: %w", err)
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid YAML: more than one document")
	}
	return f, f.validate(matchLines(raw))
}

// matchLines returns the line of each registries[i].match value, for
// error messages (the struct decoder keeps no positions).
func matchLines(raw []byte) []int {
	var doc yaml.Node
	if yaml.Unmarshal(raw, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	top := doc.Content[0]
	var lines []int
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "registries" || top.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range top.Content[i+1].Content {
			line := item.Line
			for j := 0; j+1 < len(item.Content); j += 2 {
				if item.Content[j].Value == "match" {
					line = item.Content[j+1].Line
				}
			}
			lines = append(lines, line)
		}
	}
	return lines
}

func (f *File) validate(lines []int) error {
	for i, r := range f.Registries {
		where := fmt.Sprintf("registries[%d]", i)
		if i < len(lines) {
			where = fmt.Sprintf("line %d: registries[%d]", lines[i], i)
		}
		if strings.TrimSpace(r.Match) == "" {
			return fmt.Errorf("%s: match is required", where)
		}
		if strings.Contains(r.Match, "://") {
			return fmt.Errorf("%s: match %q must not have a scheme", where, r.Match)
		}
		if strings.Contains(r.Match, "/") {
			return fmt.Errorf("%s: match %q has a path; rules match registry hosts only (the identity and the token are per registry), so write %q", where, r.Match, r.Match[:strings.Index(r.Match, "/")])
		}
		if !validAuth(r.Auth) {
			return fmt.Errorf("registries[%d]: auth %q is not one of %s", i, r.Auth, strings.Join(AuthTypes, ", "))
		}
		if r.Profile != "" && r.Auth != AuthAPIKey && r.Auth != AuthSecurityToken {
			return fmt.Errorf("registries[%d]: profile only applies to auth api_key or security_token", i)
		}
		if err := validateFederation(i, r); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, m := range f.Mirrors {
		host, err := registry.Host(m.Host)
		if err != nil || strings.TrimSpace(m.Host) != m.Host || strings.ContainsAny(m.Host, "/@") {
			return fmt.Errorf("mirrors[%d]: host %q must be host or host:port in ASCII", i, m.Host)
		}
		if seen[host] {
			return fmt.Errorf("mirrors[%d]: duplicate host %q", i, m.Host)
		}
		seen[host] = true
		if err := ValidateTokenURL(m.TokenURL); err != nil {
			return fmt.Errorf("mirrors[%d]: %w", i, err)
		}
	}
	declared := map[string]bool{}
	for i, h := range f.Hosts {
		host, err := registry.Host(h.Host)
		if err != nil || host != h.Host || strings.Contains(host, ":") || net.ParseIP(strings.Trim(host, "[]")) != nil {
			return fmt.Errorf("hosts[%d]: host %q must be a lower-case ASCII DNS name without scheme, port or path (tokens go to https://<host>/ on port 443)", i, h.Host)
		}
		if declared[host] {
			return fmt.Errorf("hosts[%d]: duplicate host %q", i, h.Host)
		}
		declared[host] = true
		if strings.TrimSpace(h.Region) == "" {
			return fmt.Errorf("hosts[%d]: region is required (a region key like iad or identifier like us-ashburn-1)", i)
		}
	}
	return nil
}

func validAuth(a string) bool {
	for _, t := range AuthTypes {
		if a == t {
			return true
		}
	}
	return false
}

// ValidateTokenURL accepts https URLs, and plain http only on loopback:
// a signed request must never cross a network in clear text.
//
// The host must pass registry.Host (ASCII bytes only, no user info): this is
// where a signed request is sent.
func ValidateTokenURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("tokenURL %q is not an absolute URL", raw)
	}
	if u.User != nil || u.Fragment != "" {
		return fmt.Errorf("tokenURL %q must not carry user info or a fragment", raw)
	}
	if _, err := registry.Host(u.Host); err != nil {
		return fmt.Errorf("tokenURL %q: %w", raw, err)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if IsLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("tokenURL %q: plain http is only allowed on loopback", raw)
	}
	return fmt.Errorf("tokenURL %q: scheme must be https", raw)
}

// IsLoopback reports whether host is localhost or a loopback IP.
func IsLoopback(host string) bool {
	if len(host) == len("localhost") && strings.EqualFold(host, "localhost") { // bytes: no Unicode folding
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
