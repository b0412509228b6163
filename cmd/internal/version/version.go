// Package version holds the build's version and commit, set by the
// Makefile with -ldflags "-X".
package version

// Set at link time; "dev" and "unknown" mark a plain `go build`.
var (
	Version = "dev"
	Commit  = "unknown"
)

// Module is the Go module path printed by `--version`.
const Module = "github.com/ocir-credential-helper/ocir-credential-helper"
