package providerconfig

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

// DefaultProviderName is the provider name, and so the executable name in
// the kubelet's bin dir, that the generated config uses.
const DefaultProviderName = "ocir-credential-provider"

// GenerateOptions describes the CredentialProviderConfig to generate.
type GenerateOptions struct {
	// Name is the provider name; DefaultProviderName when empty.
	Name string
	// Realms selects realms (oc1, oc2, …, or "all"); oc1 when neither
	// Realms nor Regions is set.
	Realms []string
	// Regions narrows matchImages to these regions' hosts (keys like iad or
	// identifiers like us-ashburn-1). Mutually exclusive with Realms.
	Regions []string
	// DefaultCacheDuration applies to answers without a cacheDuration,
	// which this plugin never sends; 10 minutes when zero.
	DefaultCacheDuration time.Duration
	// APIVersion is the CredentialProviderRequest version; v1 when empty.
	APIVersion string
	// Args and Env are passed to the plugin by the kubelet.
	Args []string
	Env  []EnvVar
	// ServiceAccountAudience, when set, adds a second provider in
	// service-account token mode (KEP-4412) named ServiceAccountName,
	// listed first so a pod's own identity is tried before the node's.
	ServiceAccountAudience string
	ServiceAccountName     string
	// RequiredAnnotationKeys makes the service-account provider apply only
	// to pods whose service account carries these annotations.
	RequiredAnnotationKeys []string
	// Table is the region table; registry.DefaultTable() when nil.
	Table *registry.Table
}

// DefaultCacheDurationValue is the generated defaultCacheDuration.
const DefaultCacheDurationValue = 10 * time.Minute

// MatchImages returns kubelet matchImages patterns covering OCIR in the
// given realms or regions: "*.ocir.io" (commercial realm short names) and
// "ocir.*.oci.<realm-domain>" per realm, or the exact hosts of each region.
// A "*" matches exactly one DNS label, which is why the two host forms need
// separate patterns.
func MatchImages(t *registry.Table, realms, regions []string) ([]string, error) {
	if t == nil {
		t = registry.DefaultTable()
	}
	if len(realms) > 0 && len(regions) > 0 {
		return nil, fmt.Errorf("choose realms or regions, not both")
	}
	var out []string
	add := func(p string) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(regions) > 0 {
		for _, name := range regions {
			r, ok := t.Lookup(name)
			if !ok {
				return nil, fmt.Errorf("unknown region %q (use a region key like iad or an identifier like us-ashburn-1)", name)
			}
			for _, h := range r.Hosts() {
				add(h)
			}
			if r.Realm == "oc1" {
				add(r.ID + ".ocir.io")
			}
		}
		return out, nil
	}
	known := t.Realms()
	names := make([]string, 0, len(known))
	for r := range known {
		names = append(names, r)
	}
	sort.Slice(names, func(i, j int) bool { return realmLess(names[i], names[j]) })
	if len(realms) == 0 {
		realms = []string{"oc1"}
	}
	if slices.Contains(realms, "all") {
		realms = names
	}
	for _, realm := range realms {
		realm = strings.ToLower(strings.TrimSpace(realm))
		domain, ok := known[realm]
		if !ok {
			return nil, fmt.Errorf("unknown realm %q (known: %s, all)", realm, strings.Join(names, ", "))
		}
		if realm == "oc1" {
			add("*.ocir.io")
		}
		add("ocir.*.oci." + domain)
	}
	return out, nil
}

// realmLess orders oc1 < oc2 < oc10.
func realmLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// GenerateConfig renders a kubelet.config.k8s.io/v1 CredentialProviderConfig
// for this plugin as YAML. The result passes ValidateConfig.
func GenerateConfig(o GenerateOptions) ([]byte, error) {
	if o.Name == "" {
		o.Name = DefaultProviderName
	}
	if o.APIVersion == "" {
		o.APIVersion = kubelet.APIVersionV1
	}
	if !strings.Contains(o.APIVersion, "/") {
		o.APIVersion = kubelet.APIGroup + "/" + o.APIVersion // accept "v1beta1"
	}
	if o.DefaultCacheDuration == 0 {
		o.DefaultCacheDuration = DefaultCacheDurationValue
	}
	match, err := MatchImages(o.Table, o.Realms, o.Regions)
	if err != nil {
		return nil, err
	}
	for _, e := range o.Env {
		if e.Name == "" || strings.ContainsAny(e.Name, "=\x00") {
			return nil, fmt.Errorf("invalid env name %q", e.Name)
		}
	}

	node := CredentialProvider{Name: o.Name, MatchImages: match, DefaultCacheDuration: durationPtr(o.DefaultCacheDuration),
		APIVersion: o.APIVersion, Args: o.Args, Env: o.Env}
	providers := []CredentialProvider{node}
	if o.ServiceAccountAudience != "" {
		if o.ServiceAccountName == "" {
			o.ServiceAccountName = o.Name + "-workload"
		}
		yes := true
		sa := node
		sa.Name = o.ServiceAccountName
		sa.TokenAttributes = &TokenAttributes{
			ServiceAccountTokenAudience: o.ServiceAccountAudience,
			// An OCIR token obtained with a service account's workload
			// identity is good for every pod of that service account.
			CacheType:                            CacheTypeServiceAccount,
			RequireServiceAccount:                &yes,
			RequiredServiceAccountAnnotationKeys: o.RequiredAnnotationKeys,
		}
		providers = []CredentialProvider{sa, node}
	} else if len(o.RequiredAnnotationKeys) > 0 {
		return nil, fmt.Errorf("required annotation keys need a service-account audience")
	}

	// Check before rendering, so a bad flag is reported in the kubelet's
	// words rather than discovered when the kubelet refuses to start.
	if errs := ValidateConfig(&Config{Providers: providers}, true); len(errs) > 0 {
		return nil, fmt.Errorf("the generated config would be invalid: %v", errs.ToAggregate())
	}

	var b bytes.Buffer
	what := "realms " + strings.Join(o.Realms, ",")
	if len(o.Regions) > 0 {
		what = "regions " + strings.Join(o.Regions, ",")
	} else if len(o.Realms) == 0 {
		what = "realm oc1"
	}
	fmt.Fprintf(&b, "# CredentialProviderConfig for OCIR (%s), generated by ocir-credential-provider config.\n", what)
	b.WriteString("# kubelet flags: --image-credential-provider-config=<this file>\n")
	b.WriteString("#                --image-credential-provider-bin-dir=<dir holding the binary under each provider name>\n")
	b.WriteString("apiVersion: kubelet.config.k8s.io/v1\n")
	b.WriteString("kind: CredentialProviderConfig\n")
	b.WriteString("providers:\n")
	for _, p := range providers {
		if p.TokenAttributes != nil {
			b.WriteString("  # Pods' own identity (" + saIdentity(o.Env) + "), from their service-account token.\n")
		} else if o.ServiceAccountAudience != "" {
			b.WriteString("  # The node's identity, for every other pod.\n")
		}
		fmt.Fprintf(&b, "  - name: %s\n", q(p.Name))
		b.WriteString("    matchImages:\n")
		for _, m := range p.MatchImages {
			fmt.Fprintf(&b, "      - %s\n", q(m))
		}
		fmt.Fprintf(&b, "    defaultCacheDuration: %s\n", q(p.DefaultCacheDuration.String()))
		fmt.Fprintf(&b, "    apiVersion: %s\n", q(p.APIVersion))
		if len(p.Args) > 0 {
			b.WriteString("    args:\n")
			for _, a := range p.Args {
				fmt.Fprintf(&b, "      - %s\n", q(a))
			}
		}
		if len(p.Env) > 0 {
			b.WriteString("    env:\n")
			for _, e := range p.Env {
				fmt.Fprintf(&b, "      - name: %s\n        value: %s\n", q(e.Name), q(e.Value))
			}
		}
		if t := p.TokenAttributes; t != nil {
			b.WriteString("    tokenAttributes:\n")
			fmt.Fprintf(&b, "      serviceAccountTokenAudience: %s\n", q(t.ServiceAccountTokenAudience))
			fmt.Fprintf(&b, "      cacheType: %s\n", q(t.CacheType))
			fmt.Fprintf(&b, "      requireServiceAccount: %t\n", *t.RequireServiceAccount)
			if len(t.RequiredServiceAccountAnnotationKeys) > 0 {
				b.WriteString("      requiredServiceAccountAnnotationKeys:\n")
				for _, k := range t.RequiredServiceAccountAnnotationKeys {
					fmt.Fprintf(&b, "        - %s\n", q(k))
				}
			}
		}
	}
	return b.Bytes(), nil
}

// q quotes a scalar for YAML. A JSON string is a valid double-quoted YAML
// scalar, and quoting is required anyway for patterns starting with '*'
// (an alias in plain YAML).
func q(s string) string {
	out, _ := json.Marshal(s) // a string always marshals
	return string(out)
}

// saIdentity names what the plugin does with a pod's service-account token:
// OKE workload identity unless the env selects workload identity federation.
func saIdentity(env []EnvVar) string {
	for _, e := range env {
		if e.Name == "OCI_CLI_AUTH" && strings.EqualFold(strings.TrimSpace(e.Value), "workload_identity_federation") {
			return "workload identity federation at an identity domain"
		}
	}
	return "OKE workload identity"
}
