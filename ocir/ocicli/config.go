package ocicli

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Config is a parsed OCI CLI/SDK config file: INI-style profiles whose
// keys fall back to [DEFAULT], exactly as the OCI CLI reads it, so a
// profile that works with `oci` works here.
type Config struct {
	path     string
	profiles map[string]map[string]string
}

// DefaultProfile is the profile used when OCI_CLI_PROFILE is unset, and
// the one every profile's missing keys fall back to.
const DefaultProfile = "DEFAULT"

// Parse parses the OCI config file format read from path. It rejects
// lines it cannot understand instead of guessing, naming the line.
func Parse(path string, raw []byte) (*Config, error) {
	c := &Config{path: path, profiles: map[string]map[string]string{}}
	var cur map[string]string
	// The file is already in memory (read bounded): walking its lines
	// needs no scanner buffer, which was 64 KiB on every lookup, a cache
	// hit's largest allocation by far.
	n := 0
	for line := range strings.Lines(string(raw)) {
		n++
		line = strings.TrimSpace(line)
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") || len(line) < 3 {
				return nil, fmt.Errorf("%s:%d: malformed profile header %q", path, n, line)
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			if name == "" {
				return nil, fmt.Errorf("%s:%d: empty profile name", path, n)
			}
			if _, dup := c.profiles[name]; !dup {
				c.profiles[name] = map[string]string{}
			}
			cur = c.profiles[name]
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: expected key=value", path, n)
		}
		if cur == nil {
			return nil, fmt.Errorf("%s:%d: key outside of any [PROFILE]", path, n)
		}
		k = strings.ToLower(strings.TrimSpace(k))
		if k == "" {
			return nil, fmt.Errorf("%s:%d: empty key", path, n)
		}
		cur[k] = strings.TrimSpace(v)
	}
	return c, nil
}

// Has reports whether the profile exists.
func (c *Config) Has(profile string) bool {
	_, ok := c.profiles[profile]
	return ok
}

// Get returns a profile key, falling back to [DEFAULT] as the OCI CLI does.
func (c *Config) Get(profile, key string) string {
	if v, ok := c.profiles[profile][key]; ok {
		return v
	}
	return c.profiles[DefaultProfile][key]
}

// Own reports whether the profile sets key itself rather than inheriting
// it from [DEFAULT].
func (c *Config) Own(profile, key string) bool {
	_, ok := c.profiles[profile][key]
	return ok
}

// FilePath resolves a file path from the config: ~ expands to home, and a
// relative path is relative to the config file's directory.
func (c *Config) FilePath(v, home string) string {
	if v == "" {
		return ""
	}
	v = ExpandHome(v, home)
	if !filepath.IsAbs(v) {
		v = filepath.Join(filepath.Dir(c.path), v)
	}
	return filepath.Clean(v)
}
