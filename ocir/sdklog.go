package ocir

import (
	"github.com/oracle/oci-go-sdk/v65/common"

	// Its init runs before the SDK's (see there).
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/internal/sdkquiet"
)

// The OCI SDK logs through a package-level logger that OCI_GO_SDK_DEBUG
// switches on; at "debug" it prints the instance's private key, at
// "verbose" the federation token, to stderr — which the kubelet copies
// into its log when a lookup fails. This product owns its logging (log/slog,
// never secrets), so the SDK's logger is replaced by one that prints
// nothing whatever the environment says. It is set at package
// initialisation because the SDK's logger is process-wide and must be
// silent before any SDK code runs. The SDK has read its environment by
// now, so sdkquiet's stand-in for OCI_GO_SDK_EC_CONFIG can go.
func init() {
	common.SetSDKLogger(silentSDKLogger{})
	sdkquiet.RestoreEnv()
}

// silentSDKLogger satisfies the SDK's logger interface and drops
// everything; LogLevel 0 also skips the SDK's IfDebug/IfInfo blocks.
type silentSDKLogger struct{}

func (silentSDKLogger) LogLevel() int                 { return 0 }
func (silentSDKLogger) Log(int, string, ...any) error { return nil }
