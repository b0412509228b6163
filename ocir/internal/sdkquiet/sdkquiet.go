// Package sdkquiet keeps the OCI SDK's own logger off before the SDK's
// package initialisation reads the environment: with OCI_GO_SDK_DEBUG set
// the SDK announces its log level on stderr (and with
// OCI_GO_SDK_LOG_OUTPUT_MODE=file creates a log file) from its init, before
// any code of ours could replace its logger.
//
// Go initialises packages whose dependencies are ready in import-path
// order (Go 1.21+); this package depends on os only and its path
// (github.com/ocir-credential-helper/…) sorts before the SDK's
// (github.com/oracle/oci-go-sdk/…), so its init runs first in every binary
// that links both. The variables are removed from this process only; the
// product logs through log/slog (OCIR_LOG_LEVEL) and never through the SDK.
package sdkquiet

import "os"

func init() {
	for _, k := range []string{"OCI_GO_SDK_DEBUG", "OCI_GO_SDK_LOG_OUTPUT_MODE", "OCI_GO_SDK_LOG_FILE"} {
		_ = os.Unsetenv(k)
	}
}
