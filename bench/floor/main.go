// Command floor is the yardstick of the process benchmark: the least a
// credential helper answering from a cache file can do. It reads its
// request from stdin, reads one small JSON file (FLOOR_FILE, a token cache
// entry) and prints the answer a real helper would print: the docker
// credential-helper JSON for "get", the kubelet CredentialProviderResponse
// for "plugin". It does no validation, locking or identity work.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
}

func run() error {
	in, err := io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(os.Getenv("FLOOR_FILE"))
	if err != nil {
		return err
	}
	var entry struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(raw, &entry); err != nil {
		return err
	}
	out := json.NewEncoder(os.Stdout)
	if len(os.Args) > 1 && os.Args[1] == "plugin" {
		var req struct {
			APIVersion string `json:"apiVersion"`
			Image      string `json:"image"`
		}
		if err := json.Unmarshal(in, &req); err != nil {
			return err
		}
		host, _, _ := strings.Cut(req.Image, "/")
		type auth struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}
		return out.Encode(struct {
			Kind          string          `json:"kind"`
			APIVersion    string          `json:"apiVersion"`
			CacheKeyType  string          `json:"cacheKeyType"`
			CacheDuration string          `json:"cacheDuration"`
			Auth          map[string]auth `json:"auth"`
		}{"CredentialProviderResponse", req.APIVersion, "Registry", "45m0s", map[string]auth{host: {"BEARER_TOKEN", entry.Token}}})
	}
	return out.Encode(struct{ ServerURL, Username, Secret string }{strings.TrimSpace(string(in)), "BEARER_TOKEN", entry.Token})
}
