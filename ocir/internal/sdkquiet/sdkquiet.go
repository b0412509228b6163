// Package sdkquiet prepares the environment the OCI SDK's package
// initialisation reads, before it reads it:
//
//   - it keeps the SDK's own logger off: with OCI_GO_SDK_DEBUG set the SDK
//     announces its log level on stderr (and with
//     OCI_GO_SDK_LOG_OUTPUT_MODE=file creates a log file) from its init,
//     before any code of ours could replace its logger;
//   - it spares every process a discarded log line: with
//     OCI_GO_SDK_EC_CONFIG unset, the usual case, the SDK's init formats an
//     "unknown ec mode" message, takes a goroutine stack dump for its
//     prefix and runs three regular expressions over it to redact it, only
//     for its silent logger to drop it (~0.2 ms of every exec, which
//     docker pays per credHelpers entry). "inprocess" is what the SDK
//     assumes anyway; RestoreEnv puts the variable back as it was once the
//     SDK has read it.
//
// Go initialises packages whose dependencies are ready in import-path
// order (Go 1.21+); this package depends on os only and its path
// (github.com/ocir-credential-helper/…) sorts before the SDK's
// (github.com/oracle/oci-go-sdk/…), so its init runs first in every binary
// that links both. The logging variables are removed from this process
// only; the product logs through log/slog (OCIR_LOG_LEVEL) and never
// through the SDK.
package sdkquiet

import "os"

// ecConfigVar is the SDK's eventual-consistency setting; this product
// never makes the calls it concerns.
const ecConfigVar = "OCI_GO_SDK_EC_CONFIG"

// ecConfig is ecConfigVar as the process started with it.
var ecConfig struct {
	value string
	set   bool
}

func init() {
	for _, k := range []string{"OCI_GO_SDK_DEBUG", "OCI_GO_SDK_LOG_OUTPUT_MODE", "OCI_GO_SDK_LOG_FILE"} {
		_ = os.Unsetenv(k)
	}
	ecConfig.value, ecConfig.set = os.LookupEnv(ecConfigVar)
	if ecConfig.value == "" {
		_ = os.Setenv(ecConfigVar, "inprocess")
	}
}

// RestoreEnv gives OCI_GO_SDK_EC_CONFIG back the value the process
// started with (or removes it), so that programs this one starts see it
// unchanged. Call it from the initialiser of a package that imports the
// SDK, which runs after the SDK's.
func RestoreEnv() {
	switch {
	case !ecConfig.set:
		_ = os.Unsetenv(ecConfigVar)
	case ecConfig.value == "":
		_ = os.Setenv(ecConfigVar, "")
	}
}
