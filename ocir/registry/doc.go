// Package registry recognises Oracle Cloud Infrastructure Registry (OCIR)
// host names and knows every OCI region and realm the pinned SDK knows.
//
// Recognition is deliberately strict: a host that is not provably an OCIR
// endpoint is never signed for and never sent a token.
//
// It is also the project's one home for registry names: server URL to
// canonical host (Host), the OCIR host shape (HasOCIRShape), and image
// references (SplitImage, ParseImage).
package registry

//go:generate go run ./internal/gen -o zz_regions.go
