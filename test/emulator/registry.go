package emulator

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Repositories holding the seeded image (tag "latest") on every registry
// host. PublicSeedRepo can be pulled anonymously.
const (
	SeedRepo       = tenancyNamespace + "/hello"
	PublicSeedRepo = "public/hello"
)

// registryService is the in-memory registry behind a bearer-token check.
type registryService struct {
	e          *Emulator
	h          http.Handler
	seedDigest string
}

func newRegistryService(e *Emulator) (*registryService, error) {
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	img, err := seedImage()
	if err != nil {
		return nil, fmt.Errorf("emulator: building seed image: %w", err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	tr := inProcessTransport{h: h}
	for _, repo := range []string{SeedRepo, PublicSeedRepo} {
		ref, err := name.ParseReference("seed.invalid/" + repo + ":latest")
		if err != nil {
			return nil, err
		}
		if err := remote.Write(ref, img, remote.WithTransport(tr)); err != nil {
			return nil, fmt.Errorf("emulator: seeding %s: %w", repo, err)
		}
	}
	return &registryService{e: e, h: h, seedDigest: d.String()}, nil
}

// SeedDigest is the manifest digest ("sha256:…") of the seeded image. It is
// the same on every run.
func (e *Emulator) SeedDigest() string { return e.registry.seedDigest }

// SeedFile and SeedFileContent describe the file in the seeded image's top
// layer.
const (
	SeedFile        = "hello.txt"
	SeedFileContent = "Hello from the OCIR emulator.\n"
)

// seedImage builds a small, deterministic linux/amd64 OCI image with two
// layers of real tar content.
func seedImage() (v1.Image, error) {
	epoch := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	layers := []map[string]string{
		{"etc/os-release": "NAME=\"ocir-emulator\"\nID=ocir-emulator\n"},
		{SeedFile: SeedFileContent},
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err := mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: "amd64",
		OS:           "linux",
		Created:      v1.Time{Time: epoch},
		Config: v1.Config{
			Cmd: []string{"/bin/cat", "/" + SeedFile},
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	for _, files := range layers {
		data, err := tarOf(files, epoch)
		if err != nil {
			return nil, err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, err
		}
		img, err = mutate.Append(img, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History:   v1.History{Created: v1.Time{Time: epoch}, CreatedBy: "ocir-emulator seed"},
		})
		if err != nil {
			return nil, err
		}
	}
	return mutate.CreatedAt(img, v1.Time{Time: epoch})
}

// tarOf returns an uncompressed tar of the files with fixed metadata.
func tarOf(files map[string]string, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if dir, _, ok := strings.Cut(p, "/"); ok {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
				return nil, err
			}
		}
		content := files[p]
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: p, Mode: 0o644, Size: int64(len(content)), ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := io.WriteString(tw, content); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// inProcessTransport serves requests with a handler, without a network.
type inProcessTransport struct{ h http.Handler }

func (t inProcessTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	in := r.Clone(r.Context())
	if in.Body == nil {
		in.Body = http.NoBody
	}
	in.RequestURI = r.URL.RequestURI()
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, in)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// repoPathRE extracts the repository name from a /v2/ API path.
var repoPathRE = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs|tags|referrers)/`)

// serve checks the registry bearer token and passes allowed requests to the
// in-memory registry.
func (s *registryService) serve(w http.ResponseWriter, r *http.Request) {
	e := s.e
	e.count(endpointRegistry, r.Host)
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if e.injectFault(w, r, endpointRegistry) {
		return
	}
	var repo string
	if m := repoPathRE.FindStringSubmatch(r.URL.Path); m != nil {
		repo = m[1]
	}
	action := "pull"
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		action = "push"
	}
	rt := s.lookup(r)
	if rt == nil {
		s.challenge(w, r, repo, action, "")
		return
	}
	switch {
	case repo == "" && strings.HasPrefix(r.URL.Path, "/v2/_catalog"):
		if rt.anonymous {
			s.challenge(w, r, "", "", "insufficient_scope")
			return
		}
	case repo != "":
		if e.isDenied(repo) || e.subjectDenied(rt.principal) {
			writeRegistryError(w, http.StatusForbidden, "DENIED", "Anonymous users are only allowed read access on public repos")
			return
		}
		if !rt.access[repo][action] {
			if rt.anonymous {
				writeRegistryError(w, http.StatusForbidden, "DENIED", "Anonymous users are only allowed read access on public repos")
				return
			}
			s.challenge(w, r, repo, action, "insufficient_scope")
			return
		}
	}
	s.h.ServeHTTP(w, r)
}

// lookup returns the valid registry token the request carries, or nil.
func (s *registryService) lookup(r *http.Request) *registryToken {
	auth := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil
	}
	s.e.mu.Lock()
	rt := s.e.registryTokens[strings.TrimSpace(tok)]
	s.e.mu.Unlock()
	if rt == nil || !s.e.now().Before(rt.expires) {
		return nil
	}
	return rt
}

// challenge answers 401 with the bearer challenge pointing at the token
// service on the host:port the client used.
func (s *registryService) challenge(w http.ResponseWriter, r *http.Request, repo, action, errCode string) {
	c := fmt.Sprintf(`Bearer realm="https://%s%s",service="%s"`, r.Host, tokenPath, r.Host)
	if repo != "" {
		actions := "pull"
		if action == "push" {
			actions = "pull,push"
		}
		c += fmt.Sprintf(`,scope="repository:%s:%s"`, repo, actions)
	}
	if errCode != "" {
		c += fmt.Sprintf(`,error="%s"`, errCode)
	}
	w.Header().Set("WWW-Authenticate", c)
	writeRegistryError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
}

// writeRegistryError answers with a distribution-style error body.
func writeRegistryError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{
		"errors": []map[string]any{{"code": code, "message": message, "detail": nil}},
	})
}
