package providerconfig

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files under testdata/configs are shared with test/kubelet, which
// checks that the kubelet itself accepts valid/* and valid-dir and rejects
// invalid/* and invalid-dir-*.
func configCases(t *testing.T) (valid, invalid []string) {
	t.Helper()
	for _, d := range []struct {
		glob string
		into *[]string
	}{
		{"testdata/configs/valid/*", &valid},
		{"testdata/configs/valid-dir", &valid},
		{"testdata/configs/invalid/*", &invalid},
		{"testdata/configs/invalid-dir-*", &invalid},
	} {
		m, err := filepath.Glob(d.glob)
		if err != nil || len(m) == 0 {
			t.Fatalf("no config cases for %s: %v", d.glob, err)
		}
		*d.into = append(*d.into, m...)
	}
	return valid, invalid
}

func TestValidateConfigPathAcceptsWhatTheKubeletAccepts(t *testing.T) {
	valid, _ := configCases(t)
	for _, path := range valid {
		t.Run(filepath.Base(path), func(t *testing.T) {
			cfg, err := ValidateConfigPath(path, ValidateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Providers) == 0 {
				t.Error("no providers")
			}
		})
	}
}

func TestValidateConfigPathRejectsWhatTheKubeletRejects(t *testing.T) {
	_, invalid := configCases(t)
	want := map[string]string{
		"no-providers.yaml":                                           "at least 1 item in plugins is required",
		"name-slash.yaml":                                             "cannot contain '/'",
		"name-space.yaml":                                             "cannot contain spaces",
		"name-dot.yaml":                                               "cannot be '.'",
		"name-dotdot.yaml":                                            "cannot be '..'",
		"duplicate-name.yaml":                                         "duplicate provider name",
		"missing-plugin-api-version.yaml":                             "apiVersion: Required value",
		"unsupported-plugin-api-version.yaml":                         "Unsupported value",
		"no-match-images.yaml":                                        "at least 1 item in matchImages is required",
		"unparsable-match-image.yaml":                                 "match image is invalid",
		"negative-cache-duration.yaml":                                "must be greater than or equal to 0",
		"missing-cache-duration.yaml":                                 "defaultCacheDuration: Required value",
		"numeric-cache-duration.yaml":                                 "error decoding",
		"unknown-field.yaml":                                          "unknown field",
		"wrong-case-field.yaml":                                       "unknown field",
		"duplicate-key.yaml":                                          "duplicate",
		"token-attributes-in-v1beta1-config.yaml":                     "unknown field",
		"token-attributes-without-audience.yaml":                      "serviceAccountTokenAudience: Required value",
		"token-attributes-without-cache-type.yaml":                    "cacheType is required",
		"token-attributes-bad-cache-type.yaml":                        "Unsupported value: \"Pod\"",
		"token-attributes-with-v1beta1-plugin.yaml":                   "only supported for credentialprovider.kubelet.k8s.io/v1",
		"token-attributes-key-required-and-optional.yaml":             "cannot be both required and optional",
		"token-attributes-required-keys-without-service-account.yaml": "requireServiceAccount cannot be false",
		"token-attributes-duplicate-annotation-key.yaml":              "Duplicate value",
		"unknown-config-version.yaml":                                 `version "v2" is not supported; want apiVersion kubelet.config.k8s.io/v1,`,
		"wrong-group.yaml":                                            `group "example.com" is not supported`,
		"wrong-kind.yaml":                                             `kind "KubeletConfiguration" is not supported; want`,
		"empty.yaml":                                                  "kind is missing",
		"not-yaml.yaml":                                               "did not find expected",
		"unparsable-cache-duration.yaml":                              `unknown unit "minutes" in duration "10minutes"`,
		"token-attributes-bad-annotation-key.yaml":                    `Invalid value: "-bad-": name part must consist of alphanumeric characters`,
		"token-attributes-without-require-service-account.yaml":       "requireServiceAccount: Required value",
		"null-cache-duration.yaml":                                    "defaultCacheDuration: Required value",
		"duplicate-key.json":                                          `duplicate field "providers[0].defaultCacheDuration"`,
		"wrong-case-kind-key.yaml":                                    `unknown field "Kind"`,
		"missing-kind.yaml":                                           "kind is missing",
		"config-version-without-group.yaml":                           `group "" is not supported`,
		"invalid-dir-duplicate":                                       "duplicate provider name",
		"invalid-dir-empty":                                           "no configuration files found",
	}
	for _, path := range invalid {
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, err := ValidateConfigPath(path, ValidateOptions{})
			if err == nil {
				t.Fatal("accepted")
			}
			w, ok := want[filepath.Base(path)]
			if !ok {
				t.Fatalf("no expected error for %s in the table: %v", path, err)
			}
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q does not say %q", err, w)
			}
		})
	}
}

func TestValidateConfigPathDirectoryMergesInLexicalOrder(t *testing.T) {
	cfg, err := ValidateConfigPath("testdata/configs/valid-dir", ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Providers) != 2 || cfg.Providers[0].Name != "node" || cfg.Providers[1].Name != "other" || !cfg.Dir {
		t.Errorf("providers %+v", cfg.Providers)
	}
	if w := strings.Join(Warnings(cfg), "\n"); !strings.Contains(w, "1.34") {
		t.Errorf("no kubelet version warning for a directory: %q", w)
	}
}

func TestValidateConfigPathWithFeatureGateOff(t *testing.T) {
	_, err := ValidateConfigPath("testdata/configs/valid/service-account-mode.yaml", ValidateOptions{NoServiceAccountTokens: true})
	if err == nil || !strings.Contains(err.Error(), "feature gate is disabled") {
		t.Errorf("err = %v", err)
	}
}

func TestValidateConfigPathChecksTheBinDir(t *testing.T) {
	bin := t.TempDir()
	path := "testdata/configs/valid/service-account-mode.yaml"
	_, err := ValidateConfigPath(path, ValidateOptions{BinDir: bin})
	if err == nil || !strings.Contains(err.Error(), "ocir-credential-provider-workload") || !strings.Contains(err.Error(), "no executable") {
		t.Fatalf("err = %v", err)
	}
	for _, n := range []string{"ocir-credential-provider", "ocir-credential-provider-workload"} {
		if err := os.WriteFile(filepath.Join(bin, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ValidateConfigPath(path, ValidateOptions{BinDir: bin}); err != nil {
		t.Errorf("with both executables: %v", err)
	}
	if _, err := ValidateConfigPath(path, ValidateOptions{BinDir: filepath.Join(bin, "missing")}); err == nil {
		t.Error("missing bin dir accepted")
	}
}

func TestValidateConfigPathMissingPath(t *testing.T) {
	for _, p := range []string{"", filepath.Join(t.TempDir(), "nope.yaml")} {
		if _, err := ValidateConfigPath(p, ValidateOptions{}); err == nil {
			t.Errorf("%q accepted", p)
		}
	}
}

func TestWarningsFlagGlobsInThePath(t *testing.T) {
	cfg, err := ValidateConfigPath("testdata/configs/valid/odd-but-accepted-patterns.yaml", ValidateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(Warnings(cfg), "\n")
	if !strings.Contains(w, `"iad.ocir.io/*"`) {
		t.Errorf("warnings %q", w)
	}
}
