// Package ocicli holds the conventions of the OCI CLI that this project
// follows so that a setup which works with `oci` works here too: where the
// config file is (OCI_CLI_CONFIG_FILE > OCI_CONFIG_FILE > ~/.oci/config),
// which profile is used (OCI_CLI_PROFILE, default DEFAULT), how the file is
// read (INI profiles falling back to [DEFAULT]), how ~ expands, and which
// region a setup points at.
//
// Every function that reads the environment does so through a getenv
// function, so an embedding program controls what is seen; nothing here
// keeps state.
package ocicli

import (
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
)

// Home is the home directory as the OCI CLI finds it, read through getenv:
// USERPROFILE (then HOME) on Windows, HOME elsewhere.
func Home(getenv func(string) string) string {
	if runtime.GOOS == "windows" {
		if h := getenv("USERPROFILE"); h != "" {
			return h
		}
	}
	return getenv("HOME")
}

// ExpandHome expands a leading ~ the way the OCI CLI does.
func ExpandHome(v, home string) string {
	if v == "~" || strings.HasPrefix(v, "~/") || strings.HasPrefix(v, `~\`) {
		return filepath.Join(home, v[1:])
	}
	return v
}

// ConfigPath is the OCI config file: override if set, else
// OCI_CLI_CONFIG_FILE > OCI_CONFIG_FILE > ~/.oci/config ("" without a
// home). explicit says the user named it, so its absence is an error.
func ConfigPath(getenv func(string) string, override string) (path string, explicit bool) {
	home := Home(getenv)
	for _, v := range []string{override, getenv("OCI_CLI_CONFIG_FILE"), getenv("OCI_CONFIG_FILE")} {
		if v != "" {
			return ExpandHome(v, home), true
		}
	}
	if home != "" {
		return filepath.Join(home, ".oci", "config"), false
	}
	return "", false
}

// Profile is OCI_CLI_PROFILE, default DEFAULT; explicit says the user
// named it.
func Profile(getenv func(string) string) (profile string, explicit bool) {
	if v := strings.TrimSpace(getenv("OCI_CLI_PROFILE")); v != "" {
		return v, true
	}
	return DefaultProfile, false
}

// Location is the OCI config file (OCI_CLI_CONFIG_FILE > OCI_CONFIG_FILE >
// ~/.oci/config; "" without a home) and profile (OCI_CLI_PROFILE, default
// DEFAULT) that identity discovery reads.
func Location(getenv func(string) string) (path, profile string) {
	path, _ = ConfigPath(getenv, "")
	profile, _ = Profile(getenv)
	return path, profile
}

// ReadFile reads a file the user named (key, token, certificate bundle):
// regular files only, non-blocking, at most 1 MiB. The OCI config itself
// is read with ReadConfig.
func ReadFile(path string) ([]byte, error) { return userfile.Read(path, userfile.ConfigLimit) }

// ReadConfig reads the OCI config file at path as ReadFile does, but only
// if nobody other than its owner, this user or root, can have written it
// or replaced it (userfile.ReadTrusted, the rule of OCIR_CONFIG): it
// chooses the key that signs, the region and even the kind of identity,
// so a file another user can edit could make this user sign with anything
// it names. Files others can only read are fine, as for the OCI CLI. A
// refusal wraps userfile.ErrUntrusted and names the file.
func ReadConfig(path string) ([]byte, error) {
	raw, err := userfile.ReadTrusted(path, userfile.ConfigLimit)
	if errors.Is(err, userfile.ErrUntrusted) {
		return nil, fmt.Errorf("OCI config %s: %w", path, err)
	}
	return raw, err
}

// ConfigHint says how to make an OCI config that ReadConfig refused
// usable again.
func ConfigHint(path string) string {
	return fmt.Sprintf("the OCI config chooses the signing key, so only its owner (this user or root) may be able to change it; "+
		"`oci setup repair-file-permissions --file %s` makes the file itself private", path)
}
