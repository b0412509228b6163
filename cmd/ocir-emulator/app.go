package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/ocir-credential-helper/ocir-credential-helper/test/emulator"
)

// newApp is the command line; ver is what --version prints.
func newApp(stdout, stderr io.Writer, ver string) *cli.App {
	return &cli.App{
		Name:      "ocir-emulator",
		Usage:     "a strict local fake of OCI identity, OCIR and a registry, for tests and demos",
		Version:   ver,
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "dir", Usage: "(required) `DIR` for env, ca.pem, oci/config and keys (created if missing)", Required: true},
			&cli.StringFlag{Name: "region", Value: "us-ashburn-1", Usage: "region of the fake instance (oc1 identifier or key)"},
			&cli.StringFlag{Name: "oke-host", Usage: "loopback IP on which to serve the OKE proxymux at port 12250, e.g. 127.0.0.2"},
			&cli.BoolFlag{Name: "verbose", Usage: "log every request to stderr"},
		},
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return fmt.Errorf("unexpected arguments: %v", c.Args().Slice())
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			return run(ctx, c, stdout, stderr)
		},
	}
}

func run(ctx context.Context, c *cli.Context, stdout, stderr io.Writer) error {
	opts := emulator.Options{
		Dir:     c.String("dir"),
		Region:  c.String("region"),
		OKEHost: c.String("oke-host"),
	}
	if c.Bool("verbose") {
		l := log.New(stderr, "", log.LstdFlags|log.Lmicroseconds)
		opts.Logf = l.Printf
	}
	e, err := emulator.Start(opts)
	if err != nil {
		return err
	}
	envFile := e.EnvFile()
	fmt.Fprintln(stdout, "ready", envFile)
	<-ctx.Done()
	if c.Bool("verbose") {
		fmt.Fprintln(stderr, "ocir-emulator: shutting down")
	}
	err = e.Close()
	// The env file points at ports that are now closed.
	if rmErr := os.Remove(envFile); rmErr != nil && !os.IsNotExist(rmErr) && err == nil {
		err = rmErr
	}
	return err
}
