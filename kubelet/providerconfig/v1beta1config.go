package providerconfig

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// v1beta1Config mirrors kubelet.config.k8s.io/v1beta1 CredentialProviderConfig
// field for field. The published type lives in a package that also defines
// KubeletConfiguration and drags logging, metrics and tracing libraries into
// the plugin, which the kubelet execs for every lookup; the schema of this
// one kind is small and frozen, so it is declared here instead.
type v1beta1Config struct {
	metav1.TypeMeta `json:""`
	Providers       []v1beta1Provider `json:"providers"`
}

type v1beta1Provider struct {
	Name                 string           `json:"name"`
	MatchImages          []string         `json:"matchImages"`
	DefaultCacheDuration *metav1.Duration `json:"defaultCacheDuration"`
	APIVersion           string           `json:"apiVersion"`
	Args                 []string         `json:"args,omitempty"`
	Env                  []v1beta1EnvVar  `json:"env,omitempty"`
}

type v1beta1EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// DeepCopyObject implements runtime.Object.
func (c *v1beta1Config) DeepCopyObject() runtime.Object {
	if c == nil {
		return nil
	}
	out := &v1beta1Config{TypeMeta: c.TypeMeta}
	for _, p := range c.Providers {
		q := v1beta1Provider{Name: p.Name, APIVersion: p.APIVersion}
		q.MatchImages = append([]string(nil), p.MatchImages...)
		q.Args = append([]string(nil), p.Args...)
		q.Env = append([]v1beta1EnvVar(nil), p.Env...)
		if p.DefaultCacheDuration != nil {
			d := *p.DefaultCacheDuration
			q.DefaultCacheDuration = &d
		}
		out.Providers = append(out.Providers, q)
	}
	return out
}
