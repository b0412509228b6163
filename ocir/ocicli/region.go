package ocicli

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrNoRegion says no region could be determined from local configuration.
var ErrNoRegion = errors.New("no OCI region configured")

// ConfiguredRegion returns the region the user's OCI setup points at and
// where that came from, from local facts only, as the OCI CLI decides it:
// OCI_CLI_REGION, else region= of the profile (OCI_CLI_PROFILE, default
// DEFAULT, keys falling back to [DEFAULT]) in the OCI config file, else
// OCI_RESOURCE_PRINCIPAL_REGION. getenv is os.Getenv in production.
func ConfiguredRegion(getenv func(string) string) (region, source string, err error) {
	if r := strings.TrimSpace(getenv("OCI_CLI_REGION")); r != "" {
		return r, "OCI_CLI_REGION", nil
	}
	path, profile := Location(getenv)
	missing := false
	if path != "" {
		raw, err := ReadConfig(path)
		switch {
		case errors.Is(err, os.ErrNotExist):
			missing = true
		case err != nil:
			return "", "", fmt.Errorf("read OCI config: %w", err)
		default:
			cfg, err := Parse(path, raw)
			if err != nil {
				return "", "", err
			}
			if !cfg.Has(profile) {
				return "", "", fmt.Errorf("OCI config %s has no profile [%s]", path, profile)
			}
			if r := cfg.Get(profile, "region"); r != "" {
				return r, fmt.Sprintf("profile %s in %s", profile, path), nil
			}
		}
	}
	if r := strings.TrimSpace(getenv("OCI_RESOURCE_PRINCIPAL_REGION")); r != "" {
		return r, "OCI_RESOURCE_PRINCIPAL_REGION", nil
	}
	if path == "" {
		return "", "", fmt.Errorf("%w: OCI_CLI_REGION is unset and there is no home directory for ~/.oci/config", ErrNoRegion)
	}
	if missing {
		return "", "", fmt.Errorf("%w: OCI_CLI_REGION is unset and %s does not exist: create it with `oci setup config` or `oci session authenticate`", ErrNoRegion, path)
	}
	return "", "", fmt.Errorf("%w: OCI_CLI_REGION is unset and profile %s in %s has no region", ErrNoRegion, profile, path)
}
