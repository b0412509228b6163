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

	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/internal/metaduration"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig/internal/v1"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig/internal/v1alpha1"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig/internal/v1beta1"
)

// The kubelet reads its CredentialProviderConfig with apimachinery's strict
// codec factory over a scheme holding the kubelet.config.k8s.io types. That
// machinery is not linked here: the plugin binary links this package for its
// config subcommands, and the kubelet execs the plugin for every image pull,
// so every package initialised at start is paid for on every pull. The
// decoding below takes the same steps with the same libraries the codec
// factory uses underneath (sigs.k8s.io/yaml to turn YAML into JSON,
// encoding/json to read apiVersion and kind, sigs.k8s.io/json strict
// decoding into the kind's fields), and the wire structs (internal/v1,
// v1beta1, v1alpha1: the published types' fields and names, so errors read
// as the kubelet's) are checked against the published types by the tests.

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
	// as JSON, and anything else as YAML, which it turns into JSON leniently
	// (a repeated key: the last wins) and then again strictly, for the
	// strict errors. A document the strict reading accepts reads the same
	// both ways, so the lenient one is needed only when it fails: then its
	// error, if it has one too, is the answer, and otherwise the strict
	// error joins the others below.
	js := data
	var strictErrs []error
	if !bytes.HasPrefix(bytes.TrimLeftFunc(data, unicode.IsSpace), []byte("{")) {
		var strictErr, err error
		if js, strictErr = yaml.YAMLToJSONStrict(data); strictErr != nil {
			if js, err = yaml.YAMLToJSON(data); err != nil {
				return nil, err
			}
			strictErrs = append(strictErrs, strictErr)
		}
	}
	version, err := configVersion(js)
	if err != nil {
		return nil, err
	}
	switch version {
	case "v1":
		return decodeConfig(js, strictErrs, fromV1)
	case "v1beta1":
		return decodeConfig(js, strictErrs, fromV1beta1)
	default:
		return decodeConfig(js, strictErrs, fromV1alpha1)
	}
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

// decodeConfig decodes js, strictly and case-sensitively as the kubelet's
// strict codec factory does, into the version's wire form C and returns
// its providers as convert makes them. As there, a value of the wrong type
// is reported alone, and otherwise every strict error (yamlErrs, the YAML's
// own, first) in one "strict decoding error".
func decodeConfig[C any](js []byte, yamlErrs []error, convert func(*C) []CredentialProvider) ([]CredentialProvider, error) {
	var c C
	jsonErrs, err := kjson.UnmarshalStrict(js, &c, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, err
	}
	strictErrs := append(yamlErrs, jsonErrs...)
	if len(strictErrs) > 0 {
		msgs := make([]string, len(strictErrs))
		for i, e := range strictErrs {
			msgs[i] = e.Error()
		}
		return nil, fmt.Errorf("strict decoding error: %s", strings.Join(msgs, ", "))
	}
	return convert(&c), nil
}

// The conversions from the three versions' wire forms. v1alpha1 and
// v1beta1 have the same fields, v1 adds tokenAttributes.

func fromV1(c *v1.CredentialProviderConfig) []CredentialProvider {
	var out []CredentialProvider
	for _, p := range c.Providers {
		q := provider(p.Name, p.MatchImages, p.DefaultCacheDuration, p.APIVersion, p.Args)
		for _, e := range p.Env {
			q.Env = append(q.Env, EnvVar(e))
		}
		if t := p.TokenAttributes; t != nil {
			q.TokenAttributes = &TokenAttributes{
				ServiceAccountTokenAudience:          t.ServiceAccountTokenAudience,
				CacheType:                            t.CacheType,
				RequireServiceAccount:                t.RequireServiceAccount,
				RequiredServiceAccountAnnotationKeys: t.RequiredServiceAccountAnnotationKeys,
				OptionalServiceAccountAnnotationKeys: t.OptionalServiceAccountAnnotationKeys,
			}
		}
		out = append(out, q)
	}
	return out
}

func fromV1beta1(c *v1beta1.CredentialProviderConfig) []CredentialProvider {
	var out []CredentialProvider
	for _, p := range c.Providers {
		q := provider(p.Name, p.MatchImages, p.DefaultCacheDuration, p.APIVersion, p.Args)
		for _, e := range p.Env {
			q.Env = append(q.Env, EnvVar(e))
		}
		out = append(out, q)
	}
	return out
}

func fromV1alpha1(c *v1alpha1.CredentialProviderConfig) []CredentialProvider {
	var out []CredentialProvider
	for _, p := range c.Providers {
		q := provider(p.Name, p.MatchImages, p.DefaultCacheDuration, p.APIVersion, p.Args)
		for _, e := range p.Env {
			q.Env = append(q.Env, EnvVar(e))
		}
		out = append(out, q)
	}
	return out
}

// provider is the part of a CredentialProvider every version has.
func provider(name string, matchImages []string, d *metaduration.Duration, apiVersion string, args []string) CredentialProvider {
	q := CredentialProvider{Name: name, MatchImages: matchImages, APIVersion: apiVersion, Args: args}
	if d != nil {
		dd := time.Duration(*d)
		q.DefaultCacheDuration = &dd
	}
	return q
}
