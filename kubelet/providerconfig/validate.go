package providerconfig

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet"
)

// This file re-implements the kubelet's reading and validation of
// --image-credential-provider-config (pkg/credentialprovider/plugin in
// Kubernetes 1.34 to 1.37, where the rules are identical), so a config can
// be checked before it stops a kubelet: an invalid config makes the kubelet
// exit at start. The decoding (decode.go) takes the kubelet's strict
// codec factory's steps with the same libraries underneath (sigs.k8s.io/yaml,
// sigs.k8s.io/json strict) into own wire structs that tests pin to the
// published config types; it does not link apimachinery's scheme or the
// published types themselves, because the plugin binary links this package
// and the kubelet execs the plugin for every image pull. The rules produce
// the same field errors. The tests compare the decoding with apimachinery's,
// and test/kubelet compares the whole with the kubelet on a table of configs.

// Cache types of tokenAttributes.cacheType.
const (
	CacheTypeServiceAccount = "ServiceAccount"
	CacheTypeToken          = "Token"
)

// Config is a CredentialProviderConfig of any version, reduced to
// what validation and the tests look at.
type Config struct {
	// Providers are the entries of every file read, in the order read.
	Providers []CredentialProvider
	// Files are the files read, in the kubelet's order.
	Files []string
	// Dir is true when the config was read from a directory.
	Dir bool
}

// CredentialProvider is one entry of a CredentialProviderConfig. Its fields
// are the entry's fields as the kubelet names them (name, matchImages,
// defaultCacheDuration, apiVersion, args, env, tokenAttributes).
type CredentialProvider struct {
	Name                 string
	MatchImages          []string
	DefaultCacheDuration *time.Duration
	APIVersion           string
	Args                 []string
	Env                  []EnvVar
	TokenAttributes      *TokenAttributes
	// File is where the entry was read from.
	File string
}

// EnvVar is one entry of a provider's env list.
type EnvVar struct{ Name, Value string }

// TokenAttributes configures service-account token mode (KEP-4412). Its
// fields are tokenAttributes' as the kubelet names them.
type TokenAttributes struct {
	ServiceAccountTokenAudience          string
	CacheType                            string
	RequireServiceAccount                *bool
	RequiredServiceAccountAnnotationKeys []string
	OptionalServiceAccountAnnotationKeys []string
}

// ValidateOptions adjusts ValidateConfigPath.
type ValidateOptions struct {
	// BinDir, when set, must hold an executable named after every provider,
	// as the kubelet's --image-credential-provider-bin-dir must.
	BinDir string
	// NoServiceAccountTokens validates as a kubelet with the
	// KubeletServiceAccountTokenForCredentialProviders feature gate off
	// (before 1.34, or disabled), which rejects tokenAttributes.
	NoServiceAccountTokens bool
}

// ValidationError lists every problem found in a config.
type ValidationError struct {
	Path string          // the file or directory validated
	Errs field.ErrorList // every problem, as the kubelet's field errors
}

// Error names the path and every problem.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("%s: invalid credential provider config: %v", e.Path, e.Errs.ToAggregate())
}

// ValidateConfigPath reads a config file, or a directory of *.json, *.yaml
// and *.yml files merged in lexical order (kubelet 1.34 and newer), and
// applies the kubelet's rules. It returns the parsed config with the error
// so callers can still report what was read.
func ValidateConfigPath(path string, opts ValidateOptions) (*Config, error) {
	cfg, err := ReadConfig(path)
	if err != nil {
		return nil, err
	}
	errs := ValidateConfig(cfg, !opts.NoServiceAccountTokens)
	if opts.BinDir != "" {
		errs = append(errs, validateBinaries(cfg, opts.BinDir)...)
	}
	if len(errs) > 0 {
		return cfg, &ValidationError{Path: path, Errs: errs}
	}
	return cfg, nil
}

// ReadConfig reads a config file or directory the way the kubelet does,
// including its rejection of a provider name repeated across files.
func ReadConfig(path string) (*Config, error) {
	if path == "" {
		return nil, errors.New("credential provider config path is empty")
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("unable to access path %q: %w", path, err)
	}
	files := []string{path}
	if info.IsDir() {
		if files, err = configFilesIn(path); err != nil {
			return nil, err
		}
	}
	cfg := &Config{Files: files, Dir: info.IsDir()}
	seen := map[string]bool{}
	for _, f := range files {
		// The kubelet reads with os.ReadFile; a tool run by hand must not
		// hang on a FIFO or read /dev/zero without end.
		data, err := userfile.Read(f, userfile.ConfigLimit)
		if err != nil {
			return nil, fmt.Errorf("unable to read file %q: %w", f, err)
		}
		providers, err := DecodeConfig(data)
		if err != nil {
			return nil, fmt.Errorf("error decoding config %q: %w", f, err)
		}
		for _, p := range providers {
			if seen[p.Name] {
				return nil, fmt.Errorf("duplicate provider name %q found in configuration file(s)", p.Name)
			}
			seen[p.Name] = true
			p.File = f
			cfg.Providers = append(cfg.Providers, p)
		}
	}
	return cfg, nil
}

// configFilesIn lists the files of a config directory the kubelet reads:
// entries (not directories) ending in .json, .yaml or .yml, sorted.
func configFilesIn(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("unable to read directory %q: %w", dir, err)
	}
	var files []string
	for _, e := range entries {
		switch filepath.Ext(e.Name()) {
		case ".json", ".yaml", ".yml":
			if !e.IsDir() {
				files = append(files, filepath.Join(dir, e.Name()))
			}
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("no configuration files found in directory %q", dir)
	}
	return files, nil
}

// ValidateConfig applies the kubelet's rules to a decoded config.
// serviceAccountTokens is the state of the kubelet's
// KubeletServiceAccountTokenForCredentialProviders feature gate (on by
// default from 1.34).
func ValidateConfig(cfg *Config, serviceAccountTokens bool) field.ErrorList {
	var errs field.ErrorList
	root := field.NewPath("providers")
	if len(cfg.Providers) == 0 {
		errs = append(errs, field.Required(root, "at least 1 item in plugins is required"))
	}
	names := map[string]bool{}
	for i, p := range cfg.Providers {
		errs = append(errs, validateProvider(root.Index(i), p, names, serviceAccountTokens)...)
	}
	return errs
}

// badName lists what is wrong with a provider name, which the kubelet uses
// as a file name in its bin dir; nil when nothing is.
func badName(n string) []string {
	var out []string
	if n == "." || n == ".." {
		out = append(out, fmt.Sprintf("provider name cannot be '%s'", n))
	}
	if strings.Contains(n, "/") {
		out = append(out, "provider name cannot contain '/'")
	}
	if strings.Contains(n, " ") {
		out = append(out, "provider name cannot contain spaces")
	}
	return out
}

func validateProvider(path *field.Path, p CredentialProvider, names map[string]bool, serviceAccountTokens bool) field.ErrorList {
	var errs field.ErrorList

	// The name is a file name in the bin dir.
	name := path.Child("name")
	for _, msg := range badName(p.Name) {
		errs = append(errs, field.Invalid(name, p.Name, msg))
	}
	if names[p.Name] {
		errs = append(errs, field.Duplicate(name, p.Name))
	}
	names[p.Name] = true

	switch {
	case p.APIVersion == "":
		errs = append(errs, field.Required(path.Child("apiVersion"), ""))
	case !slices.Contains(kubelet.PluginAPIVersions, p.APIVersion):
		errs = append(errs, field.NotSupported(path.Child("apiVersion"), p.APIVersion, sortedCopy(kubelet.PluginAPIVersions)))
	}

	if len(p.MatchImages) == 0 {
		errs = append(errs, field.Required(path.Child("matchImages"), "at least 1 item in matchImages is required"))
	}
	for _, m := range p.MatchImages {
		// The kubelet's only syntax check: the pattern must parse as the
		// host-and-path part of an https URL.
		if _, err := url.Parse("https://" + m); err != nil {
			errs = append(errs, field.Invalid(path.Child("matchImages"), m, "match image is invalid: "+err.Error()))
		}
	}

	switch {
	case p.DefaultCacheDuration == nil:
		errs = append(errs, field.Required(path.Child("defaultCacheDuration"), ""))
	case *p.DefaultCacheDuration < 0:
		// The kubelet's value is a *metav1.Duration, which field errors
		// print as its JSON string ("-1m0s"); a time.Duration would print
		// as nanoseconds.
		errs = append(errs, field.Invalid(path.Child("defaultCacheDuration"), p.DefaultCacheDuration.String(), "must be greater than or equal to 0"))
	}

	if p.TokenAttributes != nil {
		errs = append(errs, validateTokenAttributes(path.Child("tokenAttributes"), p, serviceAccountTokens)...)
	}
	return errs
}

func validateTokenAttributes(path *field.Path, p CredentialProvider, serviceAccountTokens bool) field.ErrorList {
	var errs field.ErrorList
	t := p.TokenAttributes
	if !serviceAccountTokens {
		errs = append(errs, field.Forbidden(path, "tokenAttributes is not supported when KubeletServiceAccountTokenForCredentialProviders feature gate is disabled"))
	}
	if t.ServiceAccountTokenAudience == "" {
		errs = append(errs, field.Required(path.Child("serviceAccountTokenAudience"), ""))
	}
	if t.RequireServiceAccount == nil {
		errs = append(errs, field.Required(path.Child("requireServiceAccount"), ""))
	}
	if v1 := kubelet.APIVersionV1; p.APIVersion != v1 {
		errs = append(errs, field.Forbidden(path, "tokenAttributes is only supported for "+v1+" API version"))
	}
	if t.RequireServiceAccount != nil && !*t.RequireServiceAccount && len(t.RequiredServiceAccountAnnotationKeys) > 0 {
		errs = append(errs, field.Forbidden(path.Child("requiredServiceAccountAnnotationKeys"), "requireServiceAccount cannot be false when requiredServiceAccountAnnotationKeys is set"))
	}
	errs = append(errs, validateAnnotationKeys(path.Child("requiredServiceAccountAnnotationKeys"), t.RequiredServiceAccountAnnotationKeys)...)
	errs = append(errs, validateAnnotationKeys(path.Child("optionalServiceAccountAnnotationKeys"), t.OptionalServiceAccountAnnotationKeys)...)

	var both []string
	for _, k := range t.RequiredServiceAccountAnnotationKeys {
		if slices.Contains(t.OptionalServiceAccountAnnotationKeys, k) && !slices.Contains(both, k) {
			both = append(both, k)
		}
	}
	if len(both) > 0 {
		sort.Strings(both)
		errs = append(errs, field.Invalid(path, both, "annotation keys cannot be both required and optional"))
	}

	valid := []string{CacheTypeServiceAccount, CacheTypeToken}
	switch {
	case t.CacheType == "":
		errs = append(errs, field.Required(path.Child("cacheType"), "cacheType is required to be set when tokenAttributes is specified. Supported values are: "+strings.Join(valid, ", ")))
	case !slices.Contains(valid, t.CacheType):
		errs = append(errs, field.NotSupported(path.Child("cacheType"), t.CacheType, valid))
	}
	return errs
}

// validateAnnotationKeys applies the annotation-key rule of object
// metadata: a qualified name, case-insensitive, and no repeats.
func validateAnnotationKeys(path *field.Path, keys []string) field.ErrorList {
	var errs field.ErrorList
	seen := map[string]bool{}
	for _, k := range keys {
		for _, msg := range isQualifiedName(strings.ToLower(k)) {
			errs = append(errs, field.Invalid(path, k, msg))
		}
		if seen[k] {
			errs = append(errs, field.Duplicate(path, k))
		}
		seen[k] = true
	}
	return errs
}

// validateBinaries checks what the kubelet checks right after validation:
// the bin dir exists and holds an executable per provider name.
func validateBinaries(cfg *Config, binDir string) field.ErrorList {
	var errs field.ErrorList
	if _, err := os.Stat(binDir); err != nil {
		return field.ErrorList{field.Invalid(field.NewPath("binDir"), binDir, "plugin binary directory is not usable: "+err.Error())}
	}
	for i, p := range cfg.Providers {
		if badName(p.Name) != nil {
			continue // already reported by the name rules
		}
		if _, err := exec.LookPath(filepath.Join(binDir, p.Name)); err != nil {
			errs = append(errs, field.NotFound(field.NewPath("providers").Index(i).Child("name"),
				fmt.Sprintf("%s (no executable %s)", p.Name, filepath.Join(binDir, p.Name))))
		}
	}
	return errs
}

// Warnings are findings the kubelet accepts but that are almost certainly
// mistakes.
func Warnings(cfg *Config) []string {
	var out []string
	for _, p := range cfg.Providers {
		for _, m := range p.MatchImages {
			u, err := url.Parse("https://" + m)
			if err != nil {
				continue
			}
			if strings.Contains(u.Path, "*") {
				out = append(out, fmt.Sprintf("provider %q: matchImages %q: '*' only works in the host name; in the path it never matches", p.Name, m))
			}
		}
	}
	if cfg.Dir {
		out = append(out, "a config directory needs kubelet 1.34 or newer")
	}
	for _, p := range cfg.Providers {
		if p.TokenAttributes != nil {
			out = append(out, fmt.Sprintf("provider %q: tokenAttributes with cacheType needs kubelet 1.34 or newer", p.Name))
		}
	}
	return out
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	sort.Strings(c)
	return c
}

func durationPtr(d time.Duration) *time.Duration { return &d }
