# ocir-credential-helper — every entry point a developer or CI needs.
#   make demo   the whole job against the embedded OCI emulator, no cloud account
#   make test   lint + every test (unit, fuzz seed corpora, end to end, kubelet runner)

SHELL        := /bin/bash
.SHELLFLAGS  := -eu -o pipefail -c
GO           ?= go
MODULE       := github.com/ocir-credential-helper/ocir-credential-helper
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT       ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS      := -s -w \
	-X $(MODULE)/cmd/internal/version.Version=$(VERSION) \
	-X $(MODULE)/cmd/internal/version.Commit=$(COMMIT)
BINARIES     := docker-credential-ocir ocir-credential-provider ocir-emulator
# urfave_cli_no_docs drops urfave/cli's man/markdown generator (and the
# markdown renderer it initialises at every start); nothing here uses it.
TAGS         ?= urfave_cli_no_docs
PLATFORMS    := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64
FUZZTIME     ?= 30s
STATICCHECK  := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Tools the end-to-end tests drive (crane, nerdctl) are built here.
TOOLS_BIN    ?= $(CURDIR)/.tmp/tools/bin
# staticcheck is built once per Go version (with the module proxy) and then
# runs offline: `go run pkg@version` asks the proxy for deprecations every time.
STATICCHECK_BIN := $(TOOLS_BIN)/staticcheck-$(lastword $(subst @, ,$(STATICCHECK)))-$(shell $(GO) env GOVERSION)
export PATH  := $(CURDIR)/bin:$(TOOLS_BIN):$(PATH)

.PHONY: all build test lint fuzz soak demo release release-test-artifacts image bench clean tools

all: build

build:
	@mkdir -p bin
	CGO_ENABLED=0 $(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...
	@# The installer image's entry point: Linux only, and it stays in deploy/
	@# next to install.sh and deploy/image, which builds it by that path.
	CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o bin/ocir-node-installer ./deploy/installer

## test: lint, then every test; the README's one test command.
## Tests skipped for a missing client or for not being root are listed at the
## end (go test prints nothing of a passing package's skips); CI=true fails them.
test: lint build release-test-artifacts
	@mkdir -p .tmp && rm -f .tmp/skipped-tests
	OCIR_E2E_SKIPPED=$(CURDIR)/.tmp/skipped-tests OCIR_DIST_DIR=$(RELEASE_TEST_DIR) OCIR_DIST_VERSION=$(RELEASE_TEST_VERSION) OCIR_HELM=$(TOOLS_BIN)/helm \
	  $(GO) test -race -count=1 -timeout 20m -tags '$(TAGS)' ./...
	OCIR_PROVIDER_BIN=$(CURDIR)/bin/ocir-credential-provider ./test/kubelet/run.sh
	@if [ -s .tmp/skipped-tests ]; then \
	  echo "SKIPPED $$(wc -l < .tmp/skipped-tests) end-to-end test(s) (with CI=true they fail):"; \
	  cut -f2,3 .tmp/skipped-tests | sed 's/^/  /'; \
	fi

$(STATICCHECK_BIN):
	@mkdir -p $(TOOLS_BIN) $(CURDIR)/.tmp/staticcheck-build
	GOBIN=$(CURDIR)/.tmp/staticcheck-build $(GO) install $(STATICCHECK)
	mv $(CURDIR)/.tmp/staticcheck-build/staticcheck $@

lint: $(STATICCHECK_BIN)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tmp/*')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK_BIN) ./...
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./cmd/... ./ocir/... ./helper/... ./kubelet/...
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./cmd/... ./ocir/... ./helper/... ./kubelet/...
	cd test/kubelet && $(GO) vet -mod=mod ./...
	cd tools/release && $(GO) vet ./...

## fuzz: run every fuzz target for FUZZTIME each (seed corpora also run in `make test`).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

## soak: the README's reliability figures: 10,000 lookups through the built
## binaries across token expiries, then the fault matrix (about 10 minutes;
## run it inside a network namespace like every test). Figures are appended
## to $(SOAK_REPORT).
SOAK_REPORT ?= $(CURDIR)/.tmp/soak-report.txt
soak:
	@mkdir -p $(dir $(SOAK_REPORT))
	OCIR_SOAK=1 OCIR_SOAK_REPORT=$(SOAK_REPORT) $(GO) test -count=1 -v -timeout 60m -run '^(TestSoak|TestFaultMatrix)$$' ./test/e2e
	@cat $(SOAK_REPORT)

## demo: the whole job against the local OCI emulator; the last step runs a
## kubelet lookup through the kubelet's own plugin code (compiles
## k8s.io/kubernetes on a cold build cache).
demo: build
	@echo "== Building the demo (the first time, Go downloads the modules it needs: a list of 'go: downloading' lines)"
	@$(GO) build -o /dev/null ./test/demo
	$(GO) run ./test/demo
	@echo
	@echo "== Kubelet: a CredentialProviderRequest answered by ocir-credential-provider through the kubelet's own plugin runner"
	@echo "   (compiles the kubelet's code from k8s.io/kubernetes: 2-5 minutes with nothing printed the first time, seconds after)"
	cd test/kubelet && $(GO) run -mod=mod ./cmd/kubelet-demo -plugin $(CURDIR)/bin/ocir-credential-provider

## bench: what users wait for, as ratios against a floor measured in the same
## run: the built binaries exec'd directly (warm get/plugin paired with a
## floor binary, cold API key and instance principal with OCI request counts,
## a burst, 32 registries on one instance) — table on stdout and in
## bench/results.json — then the library's lookup paths in one process.
## Never fails on timing.
bench: build
	$(GO) run -tags '$(TAGS)' ./bench -bin bin -tags '$(TAGS)' -pairs $${BENCHPAIRS:-200} -cold $${BENCHCOLD:-20}
	$(GO) test -run '^$$' -bench . -benchtime $${BENCHTIME:-300x} -count $${BENCHCOUNT:-3} ./ocir/ | tee .tmp-bench.txt
	@awk '/^Benchmark/ { name=$$1; sub(/-[0-9]+$$/, "", name); ns[name]+=$$3; n[name]++; if (!(name in seen)) { order[++k]=name; seen[name]=1 } } \
	  END { base=order[1]; printf "\n%-60s %14s %10s\n", "benchmark (mean of runs)", "ns/op", "× baseline"; \
	        for (i=1;i<=k;i++) { m=ns[order[i]]/n[order[i]]; printf "%-60s %14.0f %10.2f\n", order[i], m, m/(ns[base]/n[base]) } }' .tmp-bench.txt
	@rm -f .tmp-bench.txt

## tools: the clients the end-to-end tests drive (apt packages, crane, nerdctl).
tools:
	./test/e2e/install-clients.sh $(TOOLS_BIN)

## release: every release artifact in dist/, reproducibly (tools/release):
## archives for every platform (.zip for Windows), .deb/.rpm/.apk for linux,
## a CycloneDX SBOM per archive and package, the Homebrew formula, the
## installer image (OCI layout tar), the Helm chart, SHA256SUMS. Times come
## from SOURCE_DATE_EPOCH (default: the last commit's).
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 946684800)
export SOURCE_DATE_EPOCH
release:
	cd tools/release && $(GO) run . --repo $(CURDIR) --out $(CURDIR)/dist --version $(VERSION) --commit $(COMMIT) --tags '$(TAGS)' \
	  --platforms $(subst $(eval) ,$(comma),$(PLATFORMS))

# The linux/amd64 subset of `make release` that `make test` checks
# (test/release), with a fixed version so the checks know what to expect,
# and the pinned helm v4 the chart tests (deploy/helm_test.go) run.
RELEASE_TEST_DIR     := $(CURDIR)/.tmp/dist-test
RELEASE_TEST_VERSION := v0.0.0
comma := ,
release-test-artifacts:
	cd tools/release && $(GO) run . --repo $(CURDIR) --out $(RELEASE_TEST_DIR) --version $(RELEASE_TEST_VERSION) --commit $(COMMIT) --tags '$(TAGS)' \
	  --platforms linux/amd64 --formats binary,archive,deb,rpm,apk,sbom,brew
	cd tools/release && $(GO) build -o $(TOOLS_BIN)/helm helm.sh/helm/v4/cmd/helm

## image: the node-installer image (multi-arch OCI layout in bin/installer-image;
## IMAGE=registry/repo:tag also pushes it), built without a container engine.
image:
	GOFLAGS='-tags=$(TAGS)' $(GO) run ./deploy/image --version $(VERSION) --commit $(COMMIT) --oci-layout bin/installer-image $(if $(IMAGE),--push $(IMAGE))

clean:
	rm -rf bin dist .tmp
