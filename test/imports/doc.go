// Package imports holds no code: its test keeps the dependency promises of
// the packages by reading `go list -deps`: the importable ones (ocir and
// its subpackages, helper, kubelet) never pull in command-line or each
// other's front-end code, and the two front ends (docker: helper and
// cmd/docker-credential-ocir; kubelet: kubelet and
// cmd/ocir-credential-provider) never import each other. The docker
// command, exec'd by docker for every pull, links neither urfave/cli nor
// text/template (see cmd/docker-credential-ocir/cli.go for why), and no
// binary links golang.org/x/net's second copy of net/http's proxy code.
package imports
