package kubelet

import (
	"testing"

	"k8s.io/kubernetes/pkg/credentialprovider/plugin"
)

func TestPlaceholder(t *testing.T) { _ = plugin.RegisterCredentialProviderPlugins }
