package providerconfig

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	kcv1 "k8s.io/kubelet/config/v1"
	kcv1alpha1 "k8s.io/kubelet/config/v1alpha1"

	"github.com/ocir-credential-helper/ocir-credential-helper/internal/jsonshape"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/internal/metaduration"
	wirev1 "github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig/internal/v1"
	wirev1alpha1 "github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig/internal/v1alpha1"
	wirev1beta1 "github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig/internal/v1beta1"
)

// This file holds DecodeConfig to what the kubelet does: it decodes with
// apimachinery's strict codec factory over a scheme of the published config
// types, as the kubelet does, and compares. Test-only imports are not linked
// into the plugin binary, so the heavy packages are fine here.

// apimachineryCodecs is the kubelet's decoder for its credential provider
// config: a strict codec factory over kubelet.config.k8s.io v1, v1alpha1 and
// v1beta1. The v1beta1 type lives in a package that drags half of
// component-base along, so apimachineryV1beta1Config mirrors it.
var apimachineryCodecs = sync.OnceValue(func() serializer.CodecFactory {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{kcv1.AddToScheme, kcv1alpha1.AddToScheme} {
		if err := add(s); err != nil {
			panic(fmt.Sprintf("register kubelet config types: %v", err))
		}
	}
	s.AddKnownTypeWithName(schema.GroupVersionKind{Group: kcv1.GroupName, Version: "v1beta1", Kind: "CredentialProviderConfig"},
		&apimachineryV1beta1Config{})
	return serializer.NewCodecFactory(s, serializer.EnableStrict)
})

// apimachineryDecodeConfig is DecodeConfig as it was built on apimachinery
// (and as the kubelet decodes): the reference the equivalence tests compare
// with.
func apimachineryDecodeConfig(data []byte) ([]CredentialProvider, error) {
	obj, gvk, err := apimachineryCodecs().UniversalDeserializer().Decode(data, nil, nil)
	if err != nil {
		return nil, err
	}
	if gvk.Kind != "CredentialProviderConfig" {
		return nil, fmt.Errorf("failed to decode %q (wrong Kind)", gvk.Kind)
	}
	if gvk.Group != kcv1.GroupName {
		return nil, fmt.Errorf("failed to decode CredentialProviderConfig, unexpected Group: %s", gvk.Group)
	}
	duration := func(d *metav1.Duration) *time.Duration {
		if d == nil {
			return nil
		}
		return &d.Duration
	}
	var out []CredentialProvider
	switch c := obj.(type) {
	case *kcv1.CredentialProviderConfig:
		for _, p := range c.Providers {
			q := CredentialProvider{Name: p.Name, MatchImages: p.MatchImages, DefaultCacheDuration: duration(p.DefaultCacheDuration), APIVersion: p.APIVersion, Args: p.Args}
			for _, e := range p.Env {
				q.Env = append(q.Env, EnvVar{e.Name, e.Value})
			}
			if t := p.TokenAttributes; t != nil {
				q.TokenAttributes = &TokenAttributes{
					ServiceAccountTokenAudience:          t.ServiceAccountTokenAudience,
					CacheType:                            string(t.CacheType),
					RequireServiceAccount:                t.RequireServiceAccount,
					RequiredServiceAccountAnnotationKeys: t.RequiredServiceAccountAnnotationKeys,
					OptionalServiceAccountAnnotationKeys: t.OptionalServiceAccountAnnotationKeys,
				}
			}
			out = append(out, q)
		}
	case *apimachineryV1beta1Config:
		for _, p := range c.Providers {
			q := CredentialProvider{Name: p.Name, MatchImages: p.MatchImages, DefaultCacheDuration: duration(p.DefaultCacheDuration), APIVersion: p.APIVersion, Args: p.Args}
			for _, e := range p.Env {
				q.Env = append(q.Env, EnvVar(e))
			}
			out = append(out, q)
		}
	case *kcv1alpha1.CredentialProviderConfig:
		for _, p := range c.Providers {
			q := CredentialProvider{Name: p.Name, MatchImages: p.MatchImages, DefaultCacheDuration: duration(p.DefaultCacheDuration), APIVersion: p.APIVersion, Args: p.Args}
			for _, e := range p.Env {
				q.Env = append(q.Env, EnvVar{e.Name, e.Value})
			}
			out = append(out, q)
		}
	default:
		return nil, fmt.Errorf("unable to convert %T to *CredentialProviderConfig", obj)
	}
	return out, nil
}

// apimachineryV1beta1Config mirrors kubelet.config.k8s.io/v1beta1
// CredentialProviderConfig (k8s.io/kubelet/config/v1beta1) field for field.
type apimachineryV1beta1Config struct {
	metav1.TypeMeta `json:""`
	Providers       []apimachineryV1beta1Provider `json:"providers"`
}

type apimachineryV1beta1Provider struct {
	Name                 string           `json:"name"`
	MatchImages          []string         `json:"matchImages"`
	DefaultCacheDuration *metav1.Duration `json:"defaultCacheDuration"`
	APIVersion           string           `json:"apiVersion"`
	Args                 []string         `json:"args,omitempty"`
	Env                  []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"env,omitempty"`
}

// DeepCopyObject implements runtime.Object; the decoder never copies, so a
// shallow copy of the top level is enough.
func (c *apimachineryV1beta1Config) DeepCopyObject() runtime.Object {
	out := *c
	return &out
}

// decodeEdgeCases are documents beyond testdata/configs where a hand-made
// decoder could part from apimachinery's, each named after what it probes.
var decodeEdgeCases = map[string]string{
	"duplicate key in JSON":           `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[{"name":"p","name":"q","matchImages":["*.ocir.io"],"defaultCacheDuration":"1m","apiVersion":"credentialprovider.kubelet.k8s.io/v1"}]}`,
	"duplicate top-level key in YAML": "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nkind: CredentialProviderConfig\nproviders: []\n",
	"duplicate apiVersion differing":  "apiVersion: kubelet.config.k8s.io/v2\napiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n",
	"wrong-case field MatchImages":    "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: p\n  MatchImages: [a]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n",
	"wrong-case Kind":                 "apiVersion: kubelet.config.k8s.io/v1\nKind: CredentialProviderConfig\nproviders: []\n",
	"wrong-case APIVERSION in JSON":   `{"APIVERSION":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[]}`,
	"wrong-case kind value":           "apiVersion: kubelet.config.k8s.io/v1\nkind: credentialproviderconfig\nproviders: []\n",
	"wrong-case group":                "apiVersion: Kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n",
	"unknown top-level field":         "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\nextra: 1\n",
	"unknown env field":               "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: CredentialProviderConfig\nproviders:\n- name: p\n  matchImages: [a]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  env: [{name: A, value: b, from: c}]\n",
	"unknown tokenAttributes field":   "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: p\n  matchImages: [a]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  tokenAttributes: {serviceAccountTokenAudience: a, cacheType: Token, requireServiceAccount: true, audience: x}\n",
	"tokenAttributes in v1alpha1":     "apiVersion: kubelet.config.k8s.io/v1alpha1\nkind: CredentialProviderConfig\nproviders:\n- name: p\n  matchImages: [a]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  tokenAttributes: {serviceAccountTokenAudience: a, cacheType: Token, requireServiceAccount: true}\n",
	"null tokenAttributes":            "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: p\n  matchImages: [a]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  tokenAttributes: null\n",
	"YAML 1.1 boolean yes":            "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: p\n  matchImages: [a]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  tokenAttributes: {serviceAccountTokenAudience: a, cacheType: Token, requireServiceAccount: yes}\n",
	"YAML 1.1 boolean as a name":      "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: on\n  matchImages: [a]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n",
	"null defaultCacheDuration":       "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: p\n  matchImages: [a]\n  defaultCacheDuration: null\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n",
	"empty defaultCacheDuration":      "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: p\n  matchImages: [a]\n  defaultCacheDuration: \"\"\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n",
	"object defaultCacheDuration":     "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: p\n  matchImages: [a]\n  defaultCacheDuration: {duration: 1m}\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n",
	"compound defaultCacheDuration":   "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: CredentialProviderConfig\nproviders:\n- name: p\n  matchImages: [a]\n  defaultCacheDuration: 1h2m3.5s\n  apiVersion: credentialprovider.kubelet.k8s.io/v1beta1\n",
	"JSON with leading space":         " \n\t{\"apiVersion\":\"kubelet.config.k8s.io/v1alpha1\",\"kind\":\"CredentialProviderConfig\",\"providers\":[{\"name\":\"p\",\"matchImages\":[\"a\"],\"defaultCacheDuration\":\"1m\",\"apiVersion\":\"credentialprovider.kubelet.k8s.io/v1alpha1\",\"args\":[\"x\"],\"env\":[{\"name\":\"A\",\"value\":\"b\"}]}]}",
	"JSON with trailing garbage":      `{"apiVersion":"kubelet.config.k8s.io/v1","kind":"CredentialProviderConfig","providers":[]} x`,
	"JSON that is only valid YAML":    `{apiVersion: kubelet.config.k8s.io/v1, kind: CredentialProviderConfig, providers: []}`,
	"YAML flow mapping not at the start": `# comment first
{apiVersion: kubelet.config.k8s.io/v1, kind: CredentialProviderConfig, providers: []}`,
	"apiVersion with two slashes":  "apiVersion: kubelet.config.k8s.io/v1/x\nkind: CredentialProviderConfig\nproviders: []\n",
	"apiVersion slash only":        "apiVersion: /\nkind: CredentialProviderConfig\nproviders: []\n",
	"apiVersion without group":     "apiVersion: v1\nkind: CredentialProviderConfig\nproviders: []\n",
	"apiVersion a number":          "apiVersion: 1\nkind: CredentialProviderConfig\nproviders: []\n",
	"missing kind":                 "apiVersion: kubelet.config.k8s.io/v1\nproviders: []\n",
	"missing apiVersion":           "kind: CredentialProviderConfig\nproviders: []\n",
	"another kind of the group":    "apiVersion: kubelet.config.k8s.io/v1alpha1\nkind: ImagePullIntent\nimage: x\n",
	"second YAML document ignored": "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n---\nkind: Other\n",
	"YAML null document":           "null\n",
	"YAML list document":           "- a\n- b\n",
	"YAML anchor and alias":        "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: p\n  matchImages: &m [a, b]\n  defaultCacheDuration: 1m\n  apiVersion: credentialprovider.kubelet.k8s.io/v1\n  args: *m\n",
	"YAML merge key":               "base: &b {matchImages: [a]}\napiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n",
	"YAML numeric key":             "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n1: x\n",
	"providers null":               "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: null\n",
	"providers an object":          "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: {name: p}\n",
	"protobuf envelope":            "k8s\x00\n\x02v1",
	"byte order mark":              "\ufeffapiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n",
	"tab-indented YAML":            "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n\t- name: p\n",
}

// configFiles returns every config document under testdata/configs, valid
// and invalid, by path.
func configFiles(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob("testdata/configs/*/*")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no config files: %v", err)
	}
	out := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = data
	}
	return out
}

// checkDecodeMatchesApimachinery fails t unless DecodeConfig accepts data
// exactly when apimachinery's strict codec factory does, with the same
// providers.
func checkDecodeMatchesApimachinery(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := apimachineryDecodeConfig(data)
	got, err := DecodeConfig(data)
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("DecodeConfig error %v; apimachinery's %v", err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeConfig decoded\n%s\napimachinery\n%s", dump(got), dump(want))
	}
	// A value of the wrong type is reported by the JSON decoder, with the
	// Go names of the struct and field: the wire structs carry the
	// published names, so the words are the kubelet's.
	// Strict errors (duplicate, unknown and wrong-case fields) are
	// collected as there, YAML's first. Errors about apiVersion and kind
	// are this package's own, with what is accepted. (The v1beta1
	// reference is this file's copy of the type, whose Go names differ.)
	if err != nil && sameWordsAsTheKubelet(err) && sameWordsAsTheKubelet(wantErr) && !strings.Contains(wantErr.Error(), "apimachineryV1beta1") && err.Error() != wantErr.Error() {
		t.Errorf("DecodeConfig says\n%v\nthe kubelet's decoder says\n%v", err, wantErr)
	}
}

// sameWordsAsTheKubelet reports whether DecodeConfig words err as the
// kubelet's decoder does: the JSON decoder's "cannot unmarshal" and the
// strict errors.
func sameWordsAsTheKubelet(err error) bool {
	return strings.HasPrefix(err.Error(), "json: cannot unmarshal ") || strings.HasPrefix(err.Error(), "strict decoding error: ")
}

func dump(ps []CredentialProvider) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "%+v", p)
		if p.DefaultCacheDuration != nil {
			fmt.Fprintf(&b, " duration %v", *p.DefaultCacheDuration)
		}
		if p.TokenAttributes != nil {
			fmt.Fprintf(&b, " tokenAttributes %+v", *p.TokenAttributes)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestDecodeConfigAcceptsExactlyWhatApimachineryAccepts(t *testing.T) {
	accepted := 0
	for path, data := range configFiles(t) {
		t.Run(path, func(t *testing.T) {
			checkDecodeMatchesApimachinery(t, data)
			if _, err := DecodeConfig(data); err == nil {
				accepted++
			}
		})
	}
	for name, doc := range decodeEdgeCases {
		t.Run(name, func(t *testing.T) { checkDecodeMatchesApimachinery(t, []byte(doc)) })
	}
	// Most files are decodable (many fail only validation), so the
	// comparison is not between two decoders that reject everything.
	if accepted < 20 {
		t.Errorf("only %d config files decode", accepted)
	}
}

func FuzzDecodeConfigMatchesApimachinery(f *testing.F) {
	for _, data := range configFiles(f) {
		f.Add(data)
	}
	for _, doc := range decodeEdgeCases {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkDecodeMatchesApimachinery(t, data) })
}

func TestDecodeConfigSaysWhatIsWrongWithApiVersionAndKind(t *testing.T) {
	const want = "want apiVersion kubelet.config.k8s.io/v1, kubelet.config.k8s.io/v1beta1, kubelet.config.k8s.io/v1alpha1 and kind CredentialProviderConfig"
	for _, tc := range []struct {
		name, doc, says string
	}{
		{"unknown version", "apiVersion: kubelet.config.k8s.io/v2\nkind: CredentialProviderConfig\n", `version "v2" is not supported`},
		{"wrong group", "apiVersion: example.com/v1\nkind: CredentialProviderConfig\n", `group "example.com" is not supported`},
		{"wrong kind", "apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\n", `kind "KubeletConfiguration" is not supported`},
		{"missing kind", "apiVersion: kubelet.config.k8s.io/v1\n", "kind is missing"},
		{"missing apiVersion", "kind: CredentialProviderConfig\n", "apiVersion is missing"},
		{"apiVersion without version", "apiVersion: kubelet.config.k8s.io/\nkind: CredentialProviderConfig\n", "apiVersion is missing"},
		{"too many slashes", "apiVersion: a/b/c\nkind: CredentialProviderConfig\n", `apiVersion "a/b/c" is not group/version`},
		{"empty document", "", "kind is missing"},
		{"not a mapping", "[1]", "couldn't get apiVersion and kind"},
		{"protobuf", "k8s\x00rest", "protobuf-encoded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeConfig([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v, want it to say %q", err, tc.says)
			}
			if tc.name != "not a mapping" && tc.name != "protobuf" && !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to list what is accepted", err)
			}
		})
	}
}

func TestDecodeConfigTypeErrorsAreWordedAsTheKubelets(t *testing.T) {
	const v1Provider = "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n- name: a\n"
	for _, tc := range []struct {
		name, doc, says string
	}{
		{"duration", v1Provider + "  defaultCacheDuration: 5\n", "Go struct field CredentialProvider.providers.defaultCacheDuration of type string"},
		{"list", v1Provider + "  matchImages: 5\n", "Go struct field CredentialProvider.providers.matchImages of type []string"},
		{"providers", "apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: {}\n", "Go struct field CredentialProviderConfig.providers of type []v1.CredentialProvider"},
		{"v1alpha1 providers", "apiVersion: kubelet.config.k8s.io/v1alpha1\nkind: CredentialProviderConfig\nproviders: 1\n", "of type []v1alpha1.CredentialProvider"},
		{"env", v1Provider + "  env:\n  - name: 5\n", "Go struct field ExecEnvVar.providers.env.name of type string"},
		{"token attributes", v1Provider + "  tokenAttributes:\n    requireServiceAccount: yes please\n", "Go struct field ServiceAccountTokenAttributes.providers.tokenAttributes.requireServiceAccount of type bool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkDecodeMatchesApimachinery(t, []byte(tc.doc))
			_, err := DecodeConfig([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v, want it to say %q", err, tc.says)
			}
		})
	}
}

func TestDecodeConfigStrictErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct {
		name, doc, says string
	}{
		{"unknown field", decodeEdgeCases["unknown env field"], `unknown field "providers[0].env[0].from"`},
		{"wrong case", decodeEdgeCases["wrong-case field MatchImages"], `unknown field "providers[0].MatchImages"`},
		{"duplicate in JSON", decodeEdgeCases["duplicate key in JSON"], `duplicate field "providers[0].name"`},
		{"duplicate in YAML", decodeEdgeCases["duplicate top-level key in YAML"], `"kind" already set`},
		{"unparsable duration", decodeEdgeCases["empty defaultCacheDuration"], `invalid duration`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeConfig([]byte(tc.doc))
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v, want it to say %q", err, tc.says)
			}
		})
	}
}

// jsonShape describes how encoding/json reads a type: every field's JSON
// name and options, inlined embedded structs flattened, and types reduced
// to what they decode from. Two types with the same shape accept the same
// documents.
func TestWireStructsMatchThePublishedTypes(t *testing.T) {
	for _, tc := range []struct {
		version         string
		published, wire reflect.Type
	}{
		{"v1", reflect.TypeFor[kcv1.CredentialProviderConfig](), reflect.TypeFor[wirev1.CredentialProviderConfig]()},
		{"v1alpha1", reflect.TypeFor[kcv1alpha1.CredentialProviderConfig](), reflect.TypeFor[wirev1alpha1.CredentialProviderConfig]()},
		{"v1beta1", reflect.TypeFor[apimachineryV1beta1Config](), reflect.TypeFor[wirev1beta1.CredentialProviderConfig]()},
	} {
		t.Run(tc.version, func(t *testing.T) {
			same := map[reflect.Type]string{reflect.TypeFor[metav1.Duration](): "duration-string", reflect.TypeFor[metaduration.Duration](): "duration-string"}
			if p, w := jsonshape.Of(tc.published, same), jsonshape.Of(tc.wire, same); p != w {
				t.Errorf("wire struct\n%s\npublished type\n%s", w, p)
			}
		})
	}
}

func TestNegativeDefaultCacheDurationPrintsAsTheKubeletDoes(t *testing.T) {
	_, err := ValidateConfigPath("testdata/configs/invalid/negative-cache-duration.yaml", ValidateOptions{})
	// The kubelet's field error quotes the duration's JSON form.
	const want = `providers[0].defaultCacheDuration: Invalid value: "-1m0s": must be greater than or equal to 0`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want it to say %s", err, want)
	}
}
