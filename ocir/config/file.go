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
)

// AuthTypes are the identity types a rule or OCI_CLI_AUTH may name, spelled
// as the OCI CLI spells them.
var AuthTypes = []string{"auto", "api_key", "security_token", "instance_principal", "resource_principal", "oke_workload_identity", AuthWorkloadIdentityFederation}

// File is the optional YAML config file.
type File struct {
	Registries []Rule   `yaml:"registries"`
	Mirrors    []Mirror `yaml:"mirrors"`
}

// Rule picks the identity for registries matching a kubelet-style glob.
type Rule struct {
	Match      string `yaml:"match"`
	Auth       string `yaml:"auth"`
	Profile    string `yaml:"profile"`
	ConfigFile string `yaml:"configFile"`
	// Federation applies to auth workload_identity_federation (wif.go).
	Federation *Federation `yaml:"federation"`
}

// Mirror is a registry host that is not an OCIR host name but must be
// treated as one, with tokens fetched from TokenURL.
type Mirror struct {
	Host     string `yaml:"host"`
	TokenURL string `yaml:"tokenURL"`
}

// Load reads the config file at path. A missing file is an empty config
// unless explicit (the user named it with OCIR_CONFIG or a flag).
func Load(path string, explicit bool) (*File, error) {
	if path == "" {
		return &File{}, nil
	}
	raw, err := os.ReadFile(path)
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
	return f, f.validate()
}

func (f *File) validate() error {
	for i, r := range f.Registries {
		if strings.TrimSpace(r.Match) == "" {
			return fmt.Errorf("registries[%d]: match is required", i)
		}
		if strings.Contains(r.Match, "://") {
			return fmt.Errorf("registries[%d]: match %q must not have a scheme", i, r.Match)
		}
		if !validAuth(r.Auth) {
			return fmt.Errorf("registries[%d]: auth %q is not one of %s", i, r.Auth, strings.Join(AuthTypes, ", "))
		}
		if r.Profile != "" && r.Auth != "api_key" && r.Auth != "security_token" {
			return fmt.Errorf("registries[%d]: profile only applies to auth api_key or security_token", i)
		}
		if err := validateFederation(i, r); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i, m := range f.Mirrors {
		host := strings.ToLower(strings.TrimSpace(m.Host))
		if host == "" || strings.ContainsAny(host, "/@ ") {
			return fmt.Errorf("mirrors[%d]: host %q must be host or host:port", i, m.Host)
		}
		if seen[host] {
			return fmt.Errorf("mirrors[%d]: duplicate host %q", i, m.Host)
		}
		seen[host] = true
		if err := ValidateTokenURL(m.TokenURL); err != nil {
			return fmt.Errorf("mirrors[%d]: %w", i, err)
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
func ValidateTokenURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("tokenURL %q is not an absolute URL", raw)
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
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
