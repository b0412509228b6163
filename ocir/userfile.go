package ocir

import "github.com/ocir-credential-helper/ocir-credential-helper/ocir/internal/userfile"

// readUserFile reads a file the user named (OCI config, key, token,
// certificate bundle): regular files only, non-blocking, at most 1 MiB.
func readUserFile(path string) ([]byte, error) { return userfile.Read(path, userfile.ConfigLimit) }
