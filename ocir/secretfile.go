package ocir

import (
	"github.com/ocir-credential-helper/ocir-credential-helper/internal/userfile"
)

// readSecret reads a file that holds a secret — a private key, a client
// secret, a subject token — at most limit bytes, regular files only. If
// group or others can read it, it is still used, as the OCI CLI uses it,
// but the log warns (once per file for the life of the Provider: files
// are re-read for every exchange) so that its owner can restrict it. what
// names the secret in the warning; its content is never logged.
func (p *Provider) readSecret(path, what string, limit int64) ([]byte, error) {
	raw, fi, err := userfile.ReadInfo(path, limit)
	if err != nil {
		return nil, err
	}
	if userfile.OthersCanRead(fi) {
		if _, warned := p.warnedSecrets.LoadOrStore(path, true); !warned {
			p.log.Warn("secret file is readable by group or others; using it anyway, but restrict it with chmod 600",
				"secret", what, "file", path, "mode", fi.Mode().Perm())
		}
	}
	return raw, nil
}
