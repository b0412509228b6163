package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/ocicli"
	"github.com/ocir-credential-helper/ocir-credential-helper/ocir/registry"
)

func configCommand(e env) *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "print a kubelet CredentialProviderConfig (YAML) for this plugin",
		Description: "The matchImages cover *.ocir.io and ocir.*.oci.<realm-domain> for the chosen realms (default oc1),\n" +
			"or exactly the registry hosts of the chosen regions. The output passes validate-config.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "realm", Usage: "comma-separated `REALMS` (oc1,oc2,… or all)"},
			&cli.StringFlag{Name: "regions", Usage: "comma-separated `REGIONS` (iad,us-phoenix-1,…) to narrow matchImages to their hosts"},
			&cli.DurationFlag{Name: "default-cache-duration", Value: providerconfig.DefaultCacheDurationValue, Usage: "defaultCacheDuration of the provider"},
			&cli.StringFlag{Name: "name", Value: providerconfig.DefaultProviderName, Usage: "provider `NAME` (the executable's name in the kubelet's bin dir)"},
			&cli.StringFlag{Name: "api-version", Value: "v1", Usage: "CredentialProviderRequest `VERSION`: v1 (kubelet 1.26+), v1beta1 or v1alpha1"},
			&cli.BoolFlag{Name: "verify-pull", Usage: "pass --verify-pull to the plugin"},
			&cli.StringSliceFlag{Name: "env", Usage: "`NAME=VALUE` for the plugin's environment (repeatable), e.g. OCI_CLI_AUTH=instance_principal"},
			&cli.StringFlag{Name: "service-account-audience", Usage: "add a provider in service-account token mode (KEP-4412, kubelet 1.34+) for this token `AUDIENCE`"},
			&cli.StringFlag{Name: "service-account-name", Usage: "`NAME` of that provider (default: <name>-workload)"},
			&cli.StringSliceFlag{Name: "required-annotation", Usage: "service-account annotation `KEY` a pod must carry to use its own identity (repeatable)"},
		},
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return cmdline.Usagef("config takes no arguments")
			}
			// Realms and regions described by OCI_REGION_METADATA or
			// ~/.oci/regions-config.json are as valid here as in the
			// lookups, which accept their hosts.
			table, err := registry.LoadTable(e.getenv, ocicli.Home(e.getenv))
			if err != nil {
				return err
			}
			o := providerconfig.GenerateOptions{
				Table:                  table,
				Name:                   c.String("name"),
				Realms:                 splitList(c.String("realm")),
				Regions:                splitList(c.String("regions")),
				DefaultCacheDuration:   c.Duration("default-cache-duration"),
				APIVersion:             c.String("api-version"),
				ServiceAccountAudience: c.String("service-account-audience"),
				ServiceAccountName:     c.String("service-account-name"),
				RequiredAnnotationKeys: c.StringSlice("required-annotation"),
			}
			if c.Bool("verify-pull") {
				o.Args = []string{"--verify-pull"}
			}
			for _, kv := range c.StringSlice("env") {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("--env %q: want NAME=VALUE", kv)
				}
				o.Env = append(o.Env, providerconfig.EnvVar{Name: k, Value: v})
			}
			if c.IsSet("default-cache-duration") && o.DefaultCacheDuration <= 0 {
				return errors.New("--default-cache-duration must be positive")
			}
			// The service-account provider's flags mean nothing without an
			// audience: say so rather than drop them.
			if c.IsSet("service-account-audience") && strings.TrimSpace(o.ServiceAccountAudience) == "" {
				return cmdline.Usagef("--service-account-audience must not be empty")
			}
			if o.ServiceAccountAudience == "" {
				for _, f := range []string{"service-account-name", "required-annotation"} {
					if c.IsSet(f) {
						return cmdline.Usagef("--%s applies to the service-account provider: give --service-account-audience too", f)
					}
				}
			}
			out, err := providerconfig.GenerateConfig(o)
			if err != nil {
				return err
			}
			_, err = e.stdout.Write(out)
			return err
		},
	}
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
