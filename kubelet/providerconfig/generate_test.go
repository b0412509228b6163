package providerconfig

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

func TestMatchImages(t *testing.T) {
	for _, tc := range []struct {
		name    string
		realms  []string
		regions []string
		want    []string
		wantErr string
	}{
		{name: "default is the commercial realm", want: []string{"*.ocir.io", "ocir.*.oci.oraclecloud.com"}},
		{name: "two realms", realms: []string{"oc1", "oc4"}, want: []string{"*.ocir.io", "ocir.*.oci.oraclecloud.com", "ocir.*.oci.oraclegovcloud.uk"}},
		{name: "realms sharing a domain", realms: []string{"oc2", "oc3"}, want: []string{"ocir.*.oci.oraclegovcloud.com"}},
		{name: "region by key and by identifier", regions: []string{"iad", "eu-frankfurt-1"},
			want: []string{"iad.ocir.io", "ocir.us-ashburn-1.oci.oraclecloud.com", "us-ashburn-1.ocir.io", "fra.ocir.io", "ocir.eu-frankfurt-1.oci.oraclecloud.com", "eu-frankfurt-1.ocir.io"}},
		{name: "unknown realm", realms: []string{"oc999"}, wantErr: "unknown realm"},
		{name: "unknown region", regions: []string{"atlantis-1"}, wantErr: "unknown region"},
		{name: "realms and regions", realms: []string{"oc1"}, regions: []string{"iad"}, wantErr: "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MatchImages(nil, tc.realms, tc.regions)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestMatchImagesForAllRealmsCoverEveryKnownRegistryHost(t *testing.T) {
	tbl := registry.DefaultTable()
	patterns, err := MatchImages(tbl, []string{"all"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range tbl.Regions("") {
		for _, h := range r.Hosts() {
			image := h + "/ns/app"
			if !slices.ContainsFunc(patterns, func(p string) bool { return registry.MatchImage(p, image) }) {
				t.Errorf("%s (%s) not matched by %q", image, r.Realm, patterns)
			}
		}
	}
	for _, image := range []string{"docker.io/library/nginx", "ocir.io/ns/app", "iad.ocir.io.evil.example/ns/app", "evil.example/iad.ocir.io/x"} {
		if slices.ContainsFunc(patterns, func(p string) bool { return registry.MatchImage(p, image) }) {
			t.Errorf("%s matched", image)
		}
	}
}

func TestGenerateConfigPassesValidation(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		o    GenerateOptions
		want []string
	}{
		{name: "default", want: []string{`"*.ocir.io"`, `defaultCacheDuration: "10m0s"`, "name: \"ocir-credential-provider\""}},
		{name: "v1beta1 plugin API", o: GenerateOptions{APIVersion: "v1beta1"}, want: []string{"credentialprovider.kubelet.k8s.io/v1beta1"}},
		{name: "args and env", o: GenerateOptions{Args: []string{"--verify-pull"}, Env: []EnvVar{{"OCI_CLI_AUTH", "instance_principal"}, {"NO_PROXY", "169.254.169.254,.oraclecloud.com"}}},
			want: []string{`- "--verify-pull"`, `value: "169.254.169.254,.oraclecloud.com"`}},
		{name: "regions", o: GenerateOptions{Regions: []string{"phx"}, Name: "ocir", DefaultCacheDuration: time.Hour}, want: []string{`"phx.ocir.io"`, `"1h0m0s"`}},
		{name: "service-account mode", o: GenerateOptions{ServiceAccountAudience: "ocir", RequiredAnnotationKeys: []string{"oci.oraclecloud.com/ocir-pull"}},
			want: []string{"ocir-credential-provider-workload", "cacheType: \"ServiceAccount\"", "requireServiceAccount: true", "Pods' own identity (OKE workload identity)"}},
		{name: "service-account mode with federation", o: GenerateOptions{ServiceAccountAudience: "ocir", Env: []EnvVar{{"OCI_CLI_AUTH", "workload_identity_federation"}}},
			want: []string{"Pods' own identity (workload identity federation at an identity domain)", "OCI_CLI_AUTH"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := GenerateConfig(tc.o)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".yaml")
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := ValidateConfigPath(path, ValidateOptions{})
			if err != nil {
				t.Fatalf("generated config is invalid: %v\n%s", err, out)
			}
			if w := Warnings(cfg); tc.o.ServiceAccountAudience == "" && len(w) > 0 {
				t.Errorf("warnings %q", w)
			}
			// The env survives the round trip byte for byte.
			if len(tc.o.Env) > 0 && !slices.Equal(cfg.Providers[0].Env, tc.o.Env) {
				t.Errorf("env %q, want %q", cfg.Providers[0].Env, tc.o.Env)
			}
		})
	}
}

func TestGenerateConfigRejectsWhatTheKubeletWould(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    GenerateOptions
		want string
	}{
		{"name with a slash", GenerateOptions{Name: "a/b"}, "cannot contain '/'"},
		{"negative cache duration", GenerateOptions{DefaultCacheDuration: -time.Minute}, "greater than or equal to 0"},
		{"unknown plugin API", GenerateOptions{APIVersion: "v2"}, "Unsupported value"},
		{"service account with v1beta1", GenerateOptions{APIVersion: "v1beta1", ServiceAccountAudience: "a"}, "only supported for"},
		{"same name twice", GenerateOptions{ServiceAccountAudience: "a", ServiceAccountName: DefaultProviderName}, "Duplicate value"},
		{"bad annotation key", GenerateOptions{ServiceAccountAudience: "a", RequiredAnnotationKeys: []string{"-x"}}, "Invalid value"},
		{"annotation without audience", GenerateOptions{RequiredAnnotationKeys: []string{"a/b"}}, "need a service-account audience"},
		{"bad env name", GenerateOptions{Env: []EnvVar{{"A=B", "c"}}}, "invalid env name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := GenerateConfig(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
