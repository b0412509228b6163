package helper

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// homeDir returns the user's home directory as the OCI CLI finds it: from
// the environment, so tests and sudo -E behave predictably.
func homeDir(getenv func(string) string) string {
	if h := getenv("HOME"); h != "" {
		return h
	}
	if runtime.GOOS == "windows" {
		return getenv("USERPROFILE")
	}
	return ""
}

// expandHome expands a leading "~/" the way the OCI CLI does.
func expandHome(p, home string) string {
	if home != "" && (p == "~" || strings.HasPrefix(p, "~/") || strings.HasPrefix(p, `~\`)) {
		return filepath.Join(home, p[1:])
	}
	return p
}

// ociConfigPath is the OCI config file the OCI CLI would read:
// OCI_CLI_CONFIG_FILE, then OCI_CONFIG_FILE, then ~/.oci/config.
func ociConfigPath(getenv func(string) string) string {
	home := homeDir(getenv)
	for _, v := range []string{"OCI_CLI_CONFIG_FILE", "OCI_CONFIG_FILE"} {
		if p := strings.TrimSpace(getenv(v)); p != "" {
			return expandHome(p, home)
		}
	}
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".oci", "config")
}

// ociProfile is OCI_CLI_PROFILE, default DEFAULT.
func ociProfile(getenv func(string) string) string {
	if p := strings.TrimSpace(getenv("OCI_CLI_PROFILE")); p != "" {
		return p
	}
	return "DEFAULT"
}

// errNoRegion says no region could be determined from the environment.
var errNoRegion = errors.New("no OCI region configured")

// profileRegion returns the region the user's OCI CLI setup points at and
// where it came from: OCI_CLI_REGION (which overrides the profile in the
// OCI CLI too), else region= of the profile (keys fall back to [DEFAULT]),
// else OCI_RESOURCE_PRINCIPAL_REGION. It reads one file and never touches
// the network.
func profileRegion(getenv func(string) string) (region, source string, err error) {
	if r := strings.TrimSpace(getenv("OCI_CLI_REGION")); r != "" {
		return r, "OCI_CLI_REGION", nil
	}
	path := ociConfigPath(getenv)
	profile := ociProfile(getenv)
	if path != "" {
		raw, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return "", "", fmt.Errorf("read OCI config: %w", err)
		default:
			profiles, err := parseINI(raw)
			if err != nil {
				return "", "", fmt.Errorf("OCI config %s: %w", path, err)
			}
			if _, ok := profiles[profile]; !ok {
				return "", "", fmt.Errorf("OCI config %s has no profile [%s]", path, profile)
			}
			r := profiles[profile]["region"]
			if r == "" {
				r = profiles["DEFAULT"]["region"]
			}
			if r != "" {
				return r, fmt.Sprintf("profile %s in %s", profile, path), nil
			}
		}
	}
	if r := strings.TrimSpace(getenv("OCI_RESOURCE_PRINCIPAL_REGION")); r != "" {
		return r, "OCI_RESOURCE_PRINCIPAL_REGION", nil
	}
	if path == "" {
		return "", "", fmt.Errorf("%w: OCI_CLI_REGION is unset and there is no home directory for ~/.oci/config", errNoRegion)
	}
	return "", "", fmt.Errorf("%w: OCI_CLI_REGION is unset and profile %s in %s has no region", errNoRegion, profile, path)
}

// parseINI reads the OCI config file format: [PROFILE] sections of
// key=value lines, # and ; comments.
func parseINI(raw []byte) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	var cur map[string]string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if n == 1 {
			line = strings.TrimPrefix(line, "\ufeff")
		}
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if line[0] == '[' {
			if !strings.HasSuffix(line, "]") {
				return nil, fmt.Errorf("line %d: malformed profile header", n)
			}
			name := strings.TrimSpace(line[1 : len(line)-1])
			if out[name] == nil {
				out[name] = map[string]string{}
			}
			cur = out[name]
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || cur == nil {
			return nil, fmt.Errorf("line %d: expected key=value inside a [PROFILE]", n)
		}
		cur[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
