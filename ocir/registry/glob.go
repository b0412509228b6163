package registry

import (
	"net/url"
	"path/filepath"
	"strings"
)

// MatchImage reports whether image matches pattern with the kubelet's
// matchImages rules, so one pattern means the same thing in this project's
// config file and in a kubelet CredentialProviderConfig: each '*' in the host
// matches exactly one DNS label (label counts must be equal), a port must
// match exactly, and a path is a plain string prefix.
func MatchImage(pattern, image string) bool {
	pu, err := parseSchemeless(pattern)
	if err != nil {
		return false
	}
	iu, err := parseSchemeless(image)
	if err != nil {
		return false
	}
	if pu.Port() != iu.Port() {
		return false
	}
	pLabels := strings.Split(strings.ToLower(pu.Hostname()), ".")
	iLabels := strings.Split(strings.ToLower(iu.Hostname()), ".")
	if len(pLabels) != len(iLabels) {
		return false
	}
	for i := range pLabels {
		if ok, err := filepath.Match(pLabels[i], iLabels[i]); err != nil || !ok {
			return false
		}
	}
	return strings.HasPrefix(iu.Path, pu.Path)
}

func parseSchemeless(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	return url.Parse(s)
}
