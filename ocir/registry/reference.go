package registry

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// repoComponent is one path component of a repository name, as the
// distribution spec defines it. It is compiled on first use: every start of both binaries links this
// package, and only doctor and token parse a repository.
var repoComponent = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
})

// The one image-reference parser of the project, in two strictnesses: a
// reference as a kubelet sends it, and a reference as a person types it.

// SplitImage splits an image reference as the kubelet sends it,
// "host/repository[:tag][@digest]", into the host as written and the
// repository; the tag or digest is dropped. It validates nothing: whether
// the host is an OCIR host is for the Provider to say.
func SplitImage(image string) (host, repository string) {
	host, rest, _ := strings.Cut(image, "/")
	return host, trimTagDigest(rest)
}

// ParseImage splits what a person types to name a registry or repository,
// "registry[/repository][:tag|@digest]" with or without a scheme or a /v2/
// prefix, into the canonical registry host (see Host) and the repository,
// which must be a valid distribution repository name. The tag or digest is
// dropped: a pull check lists the repository's tags, which needs the same
// permission as a pull.
func ParseImage(arg string) (host, repo string, err error) {
	s := strings.TrimSpace(arg)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	hostPart, rest, _ := strings.Cut(s, "/")
	if host, err = Host(hostPart); err != nil {
		return "", "", err
	}
	rest = strings.Trim(rest, "/")
	if rest == "v2" || strings.HasPrefix(rest, "v2/") {
		rest = strings.TrimPrefix(strings.TrimPrefix(rest, "v2"), "/")
	}
	rest = trimTagDigest(rest)
	if rest == "" {
		return host, "", nil
	}
	if len(rest) > 255 {
		return "", "", fmt.Errorf("repository name longer than 255 characters")
	}
	for _, c := range strings.Split(rest, "/") {
		if !repoComponent().MatchString(c) {
			return "", "", fmt.Errorf("invalid repository name %q (lower-case letters, digits and . _ - separators)", rest)
		}
	}
	return host, rest, nil
}

// trimTagDigest drops a repository's @digest and then its :tag.
func trimTagDigest(repo string) string {
	if i := strings.Index(repo, "@"); i >= 0 {
		repo = repo[:i]
	}
	if i := strings.LastIndex(repo, ":"); i >= 0 && !strings.Contains(repo[i:], "/") {
		repo = repo[:i]
	}
	return repo
}
