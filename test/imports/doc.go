// Package imports holds no code: its test keeps the dependency promises of
// the importable packages (ocir and its subpackages, helper) by reading
// `go list -deps`, so that a library user never pulls in command-line or
// kubelet code.
package imports
