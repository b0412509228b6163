package imports

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/ocir-credential-helper/ocir-credential-helper"

// Forbidden dependencies, by import-path prefix.
var (
	cliPackages     = []string{"github.com/urfave/cli", "github.com/cpuguy83/go-md2man"}
	kubeletPackages = []string{module + "/kubelet", "k8s.io/", "sigs.k8s.io/"}
	frontEnds       = []string{module + "/cmd/", module + "/helper", module + "/kubelet", module + "/test/", module + "/deploy/"}
	dockerFrontEnd  = []string{module + "/helper", module + "/cmd/docker-credential-ocir"}
	kubeletFrontEnd = []string{module + "/kubelet", module + "/cmd/ocir-credential-provider"}
	commandLines    = []string{module + "/cmd/"}
	// methodByName is what calls reflect.Value.MethodByName with a computed
	// name (text/template's field lookup; html/template is built on it).
	// Once that is linked the Go linker must keep every exported method of
	// every linked type, the OCI SDK's thousands included: ~1.8 MB and ~40
	// page faults per exec of the docker helper, which docker runs once per
	// credHelpers entry. urfave/cli prints its help through it.
	methodByName = []string{"text/template", "html/template"}
	// apiMachinery is what the Kubernetes API type packages bring with them
	// (~80 packages). The kubelet execs the plugin for every pull and Go
	// initialises every linked package at each start, so the plugin speaks
	// the protocol through wire structs held to these types by its tests.
	// (k8s.io/apimachinery/pkg/util/validation/field, the kubelet's field
	// errors, is light and allowed.)
	apiMachinery = []string{"k8s.io/kubelet/", "k8s.io/apimachinery/pkg/apis/", "k8s.io/apimachinery/pkg/runtime",
		"k8s.io/apimachinery/pkg/api/", "k8s.io/klog/", "github.com/json-iterator/", "github.com/fxamacker/cbor",
		"gopkg.in/inf.v0", "golang.org/x/net/http2", "sigs.k8s.io/structured-merge-diff"}
	// secondNetStack is golang.org/x/net's copy of what net/http already
	// vendors (proxy rules, IDNA, Unicode normalisation tables): ~200 KB and
	// ~3 % of a warm get, for nothing net/http does not do. Proxies are
	// net/http's reading of the environment, or ocir.WithProxy.
	secondNetStack = []string{"golang.org/x/net/", "golang.org/x/text/"}
)

func TestLibraryPackagesPullInNoFrontEnd(t *testing.T) {
	cases := []struct {
		name      string
		pattern   string
		forbidden []string
	}{
		{"ocir has no command-line dependency", "./ocir/...", cliPackages},
		{"ocir has no kubelet dependency", "./ocir/...", kubeletPackages},
		{"ocir links no second copy of net/http's proxy and IDNA code", "./ocir/...", secondNetStack},
		{"the kubelet command links no second copy of net/http's proxy and IDNA code", "./cmd/ocir-credential-provider", secondNetStack},
		{"ocir imports no front end", "./ocir/...", frontEnds},
		{"helper has no kubelet dependency", "./helper/...", kubeletPackages},
		{"helper has no command-line dependency", "./helper/...", append(append([]string{}, cliPackages...), commandLines...)},
		{"kubelet has no command-line dependency", "./kubelet/...", append(append([]string{}, cliPackages...), commandLines...)},
		{"kubelet imports no docker front end", "./kubelet/...", dockerFrontEnd},
		{"the docker command imports no kubelet front end", "./cmd/docker-credential-ocir", append(append([]string{}, kubeletFrontEnd...), "k8s.io/", "sigs.k8s.io/")},
		{"the docker command links neither urfave/cli nor text/template", "./cmd/docker-credential-ocir", append(append([]string{}, cliPackages...), methodByName...)},
		{"the docker command links no second copy of net/http's proxy and IDNA code", "./cmd/docker-credential-ocir", secondNetStack},
		{"the shared command-line code has no command-line library", "./cmd/internal/...", cliPackages},
		{"the kubelet command imports no docker front end", "./cmd/ocir-credential-provider", dockerFrontEnd},
		{"the kubelet command links no API machinery", "./cmd/ocir-credential-provider", apiMachinery},
		{"kubelet links no API machinery", "./kubelet/...", apiMachinery},
		{"the shared command-line code imports no front end", "./cmd/internal/...", append(append(append([]string{}, dockerFrontEnd...), kubeletFrontEnd...), "k8s.io/")},
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		graphs := map[string]map[string][]string{}
		for _, c := range cases {
			t.Run(goos+"/"+c.name, func(t *testing.T) {
				g, ok := graphs[c.pattern]
				if !ok {
					g = deps(t, goos, c.pattern)
					graphs[c.pattern] = g
				}
				for _, root := range rootsOf(g, c.pattern) {
					for _, p := range chainTo(g, root, c.forbidden) {
						t.Errorf("forbidden dependency: %s", p)
					}
				}
			})
		}
	}
}

// deps returns the import graph (package → its imports) of pattern and
// everything it depends on, as built for goos. Test files are not
// included: they are not what an importer gets.
func deps(t *testing.T, goos, pattern string) map[string][]string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, pattern)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOFLAGS=-mod=readonly")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s (GOOS=%s): %v\n%s", pattern, goos, err, stderr.String())
	}
	g := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			g[f[0]] = f[1:]
		}
	}
	if len(g) == 0 {
		t.Fatalf("go list -deps %s listed nothing", pattern)
	}
	return g
}

// rootsOf returns the packages of the module that pattern names.
func rootsOf(g map[string][]string, pattern string) []string {
	prefix := module + "/" + strings.TrimSuffix(strings.TrimPrefix(pattern, "./"), "/...")
	var roots []string
	for p := range g {
		if p == prefix || (strings.HasSuffix(pattern, "/...") && strings.HasPrefix(p, prefix+"/")) {
			roots = append(roots, p)
		}
	}
	slices.Sort(roots)
	return roots
}

// chainTo returns, for every forbidden package reachable from root, the
// import chain that reaches it ("a → b → c").
func chainTo(g map[string][]string, root string, forbidden []string) []string {
	isForbidden := func(p string) bool {
		for _, f := range forbidden {
			if p == strings.TrimSuffix(f, "/") || strings.HasPrefix(p, f) || strings.HasPrefix(p, f+"/") {
				return true
			}
		}
		return false
	}
	var chains []string
	parent := map[string]string{root: ""}
	queue := []string{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p != root && isForbidden(p) {
			var chain []string
			for q := p; q != ""; q = parent[q] {
				chain = append([]string{q}, chain...)
			}
			chains = append(chains, strings.Join(chain, " → "))
			continue
		}
		for _, q := range g[p] {
			if _, seen := parent[q]; !seen {
				parent[q] = p
				queue = append(queue, q)
			}
		}
	}
	return chains
}
