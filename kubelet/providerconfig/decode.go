package providerconfig

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// The kubelet reads its CredentialProviderConfig with apimachinery's strict
// codec factory over a scheme holding the kubelet.config.k8s.io types. That
// machinery is not linked here: the plugin binary links this package for its
// config subcommands, and the kubelet execs the plugin for every image pull,
// so every package initialised at start is paid for on every pull. The
// decoding below takes the same steps with the same libraries the codec
// factory uses underneath (sigs.k8s.io/yaml to turn YAML into JSON,
// encoding/json to read apiVersion and kind, sigs.k8s.io/json strict
// decoding into the kind's fields), and the wire structs are checked against
// the published types by the tests.

// Config group, kind and versions the kubelet accepts.
const (
	configGroup = "kubelet.config.k8s.io"
	configKind  = "CredentialProviderConfig"
)

// configVersions are the accepted versions of configGroup, newest first.
var configVersions = []string{"v1", "v1beta1", "v1alpha1"}

// protobufPrefix starts a Kubernetes protobuf envelope. The codec factory
// recognises it, and then fails because the config types have no protobuf
// encoding; saying so is clearer than feeding binary to the YAML parser.
var protobufPrefix = []byte("k8s\x00")

// DecodeConfig decodes one CredentialProviderConfig document (YAML or JSON,
// kubelet.config.k8s.io v1, v1beta1 or v1alpha1) as strictly as the kubelet:
// duplicate keys, unknown fields and fields in the wrong case are errors.
func DecodeConfig(data []byte) ([]CredentialProvider, error) {
	if bytes.HasPrefix(data, protobufPrefix) {
		return nil, errors.New("the config is protobuf-encoded; the kubelet reads only YAML or JSON")
	}
	// The codec factory reads input whose first non-space character is '{'
	// as JSON, and anything else as YAML.
	js := data
	if !bytes.HasPrefix(bytes.TrimLeftFunc(data, unicode.IsSpace), []byte("{")) {
		var err error
		if js, err = yaml.YAMLToJSONStrict(data); err != nil {
			return nil, err
		}
	}
	version, err := configVersion(js)
	if err != nil {
		return nil, err
	}
	if version == "v1" {
		return decodeProviders[wireProviderV1](js)
	}
	return decodeProviders[wireProviderV1beta1](js) // v1beta1 and v1alpha1 have the same fields
}

// configVersion reads apiVersion and kind as the codec factory does (with
// encoding/json, so their keys match in any case; the strict decoding that
// follows rejects a wrong case) and returns the config version, or an error
// saying what was found and what is accepted.
func configVersion(js []byte) (string, error) {
	var tm struct {
		APIVersion string `json:"apiVersion,omitempty"`
		Kind       string `json:"kind,omitempty"`
	}
	if err := json.Unmarshal(js, &tm); err != nil {
		return "", fmt.Errorf("couldn't get apiVersion and kind: %w", err)
	}
	want := fmt.Sprintf("want apiVersion %s/%s and kind %s", configGroup, strings.Join(configVersions, ", "+configGroup+"/"), configKind)
	group, version, err := parseGroupVersion(tm.APIVersion)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w; %s", err, want)
	case tm.Kind == "":
		return "", fmt.Errorf("kind is missing; %s", want)
	case version == "":
		return "", fmt.Errorf("apiVersion is missing; %s", want)
	case tm.Kind != configKind:
		return "", fmt.Errorf("kind %q is not supported; %s", tm.Kind, want)
	case group != configGroup:
		return "", fmt.Errorf("apiVersion %q: group %q is not supported; %s", tm.APIVersion, group, want)
	}
	for _, v := range configVersions {
		if version == v {
			return v, nil
		}
	}
	return "", fmt.Errorf("apiVersion %q: version %q is not supported; %s", tm.APIVersion, version, want)
}

// parseGroupVersion splits an apiVersion the way apimachinery's
// schema.ParseGroupVersion does: "" and "/" are empty, "v" is a version
// without a group, "g/v" a group and version, more slashes an error.
func parseGroupVersion(gv string) (group, version string, err error) {
	if gv == "" || gv == "/" {
		return "", "", nil
	}
	switch strings.Count(gv, "/") {
	case 0:
		return "", gv, nil
	case 1:
		group, version, _ = strings.Cut(gv, "/")
		return group, version, nil
	default:
		return "", "", fmt.Errorf("apiVersion %q is not group/version", gv)
	}
}

// wireProvider is one provider entry of any version.
type wireProvider interface {
	provider() CredentialProvider
}

// decodeProviders decodes a config whose providers are P, strictly and
// case-sensitively, as the kubelet's strict codec factory does.
func decodeProviders[P wireProvider](js []byte) ([]CredentialProvider, error) {
	var c wireConfig[P]
	strictErrs, err := kjson.UnmarshalStrict(js, &c, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("strict decoding error: %s", strings.Join(msgs, ", "))
	}
	var out []CredentialProvider
	for _, p := range c.Providers {
		out = append(out, p.provider())
	}
	return out, nil
}

// The wire structs below have exactly the fields and JSON names of
// k8s.io/kubelet/config/v1 and v1alpha1 (and v1beta1, which has the same
// fields as v1alpha1); TestWireStructsMatchThePublishedTypes holds them to
// that.

// wireConfig is a CredentialProviderConfig with providers of type P.
type wireConfig[P wireProvider] struct {
	Kind       string `json:"kind,omitempty"`
	APIVersion string `json:"apiVersion,omitempty"`
	Providers  []P    `json:"providers"`
}

// wireProviderV1beta1 is a provider of v1beta1 and v1alpha1.
type wireProviderV1beta1 struct {
	Name                 string        `json:"name"`
	MatchImages          []string      `json:"matchImages"`
	DefaultCacheDuration *wireDuration `json:"defaultCacheDuration"`
	APIVersion           string        `json:"apiVersion"`
	Args                 []string      `json:"args,omitempty"`
	Env                  []wireEnvVar  `json:"env,omitempty"`
}

func (p wireProviderV1beta1) provider() CredentialProvider {
	q := CredentialProvider{Name: p.Name, MatchImages: p.MatchImages, APIVersion: p.APIVersion, Args: p.Args}
	if p.DefaultCacheDuration != nil {
		d := time.Duration(*p.DefaultCacheDuration)
		q.DefaultCacheDuration = &d
	}
	for _, e := range p.Env {
		q.Env = append(q.Env, EnvVar(e))
	}
	return q
}

// wireProviderV1 is a v1 provider: v1beta1's fields and tokenAttributes.
type wireProviderV1 struct {
	wireProviderV1beta1
	TokenAttributes *wireTokenAttributes `json:"tokenAttributes,omitempty"`
}

func (p wireProviderV1) provider() CredentialProvider {
	q := p.wireProviderV1beta1.provider()
	if t := p.TokenAttributes; t != nil {
		q.TokenAttributes = &TokenAttributes{
			ServiceAccountTokenAudience:          t.ServiceAccountTokenAudience,
			CacheType:                            t.CacheType,
			RequireServiceAccount:                t.RequireServiceAccount,
			RequiredServiceAccountAnnotationKeys: t.RequiredServiceAccountAnnotationKeys,
			OptionalServiceAccountAnnotationKeys: t.OptionalServiceAccountAnnotationKeys,
		}
	}
	return q
}

type wireTokenAttributes struct {
	ServiceAccountTokenAudience          string   `json:"serviceAccountTokenAudience"`
	CacheType                            string   `json:"cacheType"`
	RequireServiceAccount                *bool    `json:"requireServiceAccount"`
	RequiredServiceAccountAnnotationKeys []string `json:"requiredServiceAccountAnnotationKeys,omitempty"`
	OptionalServiceAccountAnnotationKeys []string `json:"optionalServiceAccountAnnotationKeys,omitempty"`
}

type wireEnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// wireDuration decodes like metav1.Duration: a JSON string parsed by
// time.ParseDuration. A JSON null leaves the *wireDuration field nil
// without calling UnmarshalJSON, as it does for *metav1.Duration.
type wireDuration time.Duration

// UnmarshalJSON implements json.Unmarshaler.
func (d *wireDuration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	pd, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = wireDuration(pd)
	return nil
}
