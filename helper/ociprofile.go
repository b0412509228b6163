package helper

import (
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
