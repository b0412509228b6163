// Package version holds the build's version and commit, set by the
// Makefile with -ldflags "-X".
package version

import "runtime/debug"

// Set at link time; "dev" and "unknown" mark a plain `go build`.
var (
	Version = "dev"
	Commit  = "unknown"
)

// Module is the Go module path printed by `--version`.
const Module = "github.com/ocir-credential-helper/ocir-credential-helper"

// Resolve returns v, or when the build did not set one ("" or "dev") the
// module version recorded by `go install module@version`, else "dev".
func Resolve(v string) string {
	if v != "" && v != "dev" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
