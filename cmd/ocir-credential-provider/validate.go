package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
	"github.com/ocir-credential-helper/ocir-credential-helper/kubelet/providerconfig"
)

func validateCommand(e env) *cli.Command {
	return &cli.Command{
		Name:      "validate-config",
		Usage:     "check a CredentialProviderConfig file or directory with the kubelet's own rules",
		ArgsUsage: "FILE|DIR",
		Description: "An invalid config, or a provider whose executable is missing, makes the kubelet exit at start.\n" +
			"A directory is read as kubelet 1.34+ reads it: its *.json, *.yaml and *.yml files, merged in\n" +
			"lexical order, provider names unique across files.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "bin-dir", Usage: "also check that `DIR` (--image-credential-provider-bin-dir) holds an executable per provider"},
			&cli.BoolFlag{Name: "no-service-account-tokens", Usage: "validate for a kubelet without the KubeletServiceAccountTokenForCredentialProviders feature (before 1.34)"},
			&cli.BoolFlag{Name: "names", Usage: "print only the provider names, one per line (for install scripts)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return cmdline.Usagef("validate-config needs exactly one FILE or DIR")
			}
			path := c.Args().First()
			cfg, err := providerconfig.ValidateConfigPath(path, providerconfig.ValidateOptions{
				BinDir:                 c.String("bin-dir"),
				NoServiceAccountTokens: c.Bool("no-service-account-tokens"),
			})
			if cfg != nil {
				for _, w := range providerconfig.Warnings(cfg) {
					fmt.Fprintf(e.stderr, "%s: warning: %s\n", name, w)
				}
			}
			if err != nil {
				var ve *providerconfig.ValidationError
				if errors.As(err, &ve) {
					for _, fe := range ve.Errs {
						fmt.Fprintf(e.stderr, "%s: %s\n", path, fe.Error())
					}
					problems := "1 problem"
					if len(ve.Errs) != 1 {
						problems = fmt.Sprintf("%d problems", len(ve.Errs))
					}
					return fmt.Errorf("%s is not a valid credential provider config (%s, listed above); the kubelet would not start", path, problems)
				}
				return fmt.Errorf("%w; the kubelet would not start", err)
			}
			names := make([]string, 0, len(cfg.Providers))
			for _, p := range cfg.Providers {
				names = append(names, p.Name)
			}
			if c.Bool("names") {
				_, err := fmt.Fprintln(e.stdout, strings.Join(names, "\n"))
				return err
			}
			fmt.Fprintf(e.stdout, "%s: valid, %d provider(s): %s\n", path, len(names), strings.Join(names, ", "))
			return nil
		},
	}
}
