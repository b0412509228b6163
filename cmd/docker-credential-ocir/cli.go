package main

// The command line is the standard library's flag package, one FlagSet per
// command, driven by the table of app.commands; the help is rendered from
// the same table with text/tabwriter, in urfave/cli's layout. The kubelet
// plugin uses urfave/cli, but this binary must not: urfave/cli prints help
// through text/template, whose field lookup calls reflect.Value.MethodByName
// with a computed name, and once that is linked the Go linker keeps every
// exported method of every linked type (the OCI SDK has thousands). Without
// it the binary is 1.7 MB smaller (8.6 MB) and a warm `get`, which docker
// execs once per credHelpers entry, faults ~5 % fewer pages (see the
// README's Performance section). urfave/cli v2 parses with flag as well, so
// the syntax is the same: -x or --x, --x=v or --x v, flags end at the
// first argument that is not one, the last repeat wins. test/imports keeps
// text/template out.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ocir-credential-helper/ocir-credential-helper/cmd/internal/cmdline"
)

// flagKind is what a flag takes.
type flagKind int

const (
	stringFlag flagKind = iota // a value; the last one given counts
	boolFlag                   // no value, or =true/=false
	listFlag                   // a value, repeatable; every one counts
)

// flagSpec is one flag of the command table.
type flagSpec struct {
	names []string // the name, then its aliases
	usage string   // the value's placeholder in `backquotes`, as in urfave/cli
	def   string   // the default as help shows it; "" shows none
	kind  flagKind
}

// helpFlag is every command's -h/--help.
var helpFlag = flagSpec{names: []string{"help", "h"}, usage: "show help", kind: boolFlag}

// command is one entry of the command table. Its help comes from the same
// fields.
type command struct {
	name        string
	usage       string // one line, in COMMANDS and NAME
	usageText   string // replaces the generated USAGE line
	argsUsage   string // what follows the options in USAGE
	description string
	category    string // groups the command under a heading in COMMANDS
	flags       []flagSpec
	subcommands []*command
	// hideHelpCommand takes away the help subcommand (see helpCommand);
	// only the root sets it.
	hideHelpCommand bool
	action          func(*call) error
}

// helpCommand is the `help, h [command]` subcommand urfave/cli gave every
// command but the root, leaves included: `get help` and `cache help list`
// print help, and COMMANDS lists it where there are other subcommands.
var helpCommand = &command{
	name:      "help",
	usage:     "Shows a list of commands or help for one command",
	argsUsage: "[command]",
}

// isHelp reports whether arg names the help subcommand.
func isHelp(arg string) bool { return arg == "help" || arg == "h" }

// find returns the subcommand called name, or nil.
func (cmd *command) find(name string) *command {
	for _, s := range cmd.subcommands {
		if s.name == name {
			return s
		}
	}
	return nil
}

// allFlags is the command's flags and -h/--help, in help's order. The
// capacity is cut to the length so that append copies: cmd.flags may be
// the shared globalFlags.
func (cmd *command) allFlags() []flagSpec {
	return append(cmd.flags[:len(cmd.flags):len(cmd.flags)], helpFlag)
}

// call is one command as the command line invoked it: its flags and its
// arguments.
type call struct {
	Context context.Context
	cmd     *command
	path    string // the program name and the command names, as help shows them
	values  map[string]*flagValue
	args    []string
}

// NArg is the number of arguments after the flags.
func (c *call) NArg() int { return len(c.args) }

// First is the first argument, or "".
func (c *call) First() string {
	if len(c.args) == 0 {
		return ""
	}
	return c.args[0]
}

// String is the last value given to the flag, or "" (also for a flag the
// command does not have).
func (c *call) String(name string) string { return c.values[name].String() }

// Bool is the flag's value; the parser has checked its syntax.
func (c *call) Bool(name string) bool {
	b, _ := strconv.ParseBool(c.String(name))
	return b
}

// Strings is every value given to a list flag, in order.
func (c *call) Strings(name string) []string {
	if v, ok := c.values[name]; ok {
		return v.vals
	}
	return nil
}

// IsSet reports whether the flag was given.
func (c *call) IsSet(name string) bool { return len(c.Strings(name)) > 0 }

// flagValue is the flag.Value of every flag: it keeps what was given, so
// that "given" and "given empty" differ and a list keeps every value.
type flagValue struct {
	kind flagKind
	vals []string
}

// errParse is flag's own message for a bad boolean, which urfave/cli
// printed: "invalid boolean value "x" for -name: parse error".
var errParse = errors.New("parse error")

func (v *flagValue) String() string {
	if v == nil || len(v.vals) == 0 {
		return ""
	}
	return v.vals[len(v.vals)-1]
}

func (v *flagValue) Set(s string) error {
	if v.kind == boolFlag {
		if _, err := strconv.ParseBool(s); err != nil {
			return errParse
		}
	}
	if v.kind != listFlag {
		v.vals = v.vals[:0]
	}
	v.vals = append(v.vals, s)
	return nil
}

// IsBoolFlag lets flag accept a bool flag without a value.
func (v *flagValue) IsBoolFlag() bool { return v.kind == boolFlag }

// parse parses the flags of cmd from args. flag's own messages become
// usage errors; it prints nothing itself.
func parse(ctx context.Context, cmd *command, path string, args []string) (*call, error) {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := &call{Context: ctx, cmd: cmd, path: path, values: map[string]*flagValue{}}
	for _, f := range cmd.allFlags() {
		v := &flagValue{kind: f.kind}
		for _, n := range f.names {
			fs.Var(v, n, f.usage)
			c.values[n] = v
		}
	}
	if err := fs.Parse(args); err != nil {
		return nil, cmdline.UsageError{Err: err}
	}
	c.args = fs.Args()
	return c, nil
}

// dispatch parses cmd's flags from args and then, in urfave/cli's order,
// shows help if asked, runs before (at the root), a subcommand named by the
// first argument, or cmd's action.
func (a *app) dispatch(ctx context.Context, cmd *command, path string, args []string, before func(*call)) error {
	c, err := parse(ctx, cmd, path, args)
	if err != nil {
		return err
	}
	if c.Bool("help") {
		return a.helpTopic(c, c.args)
	}
	if before != nil {
		before(c)
	}
	if sub := cmd.find(c.First()); sub != nil {
		return a.dispatch(ctx, sub, path+" "+sub.name, c.args[1:], nil)
	}
	if !cmd.hideHelpCommand && isHelp(c.First()) {
		// The help command's only flag is -h, which, as in urfave/cli,
		// shows the help of the command it belongs to.
		h, err := parse(ctx, helpCommand, path+" "+helpCommand.name, c.args[1:])
		if err != nil {
			return err
		}
		return a.helpTopic(c, h.args)
	}
	return cmd.action(c)
}

// helpTopic prints, on stdout, the help of c's command or of the
// subcommand the first topic names.
func (a *app) helpTopic(c *call, topics []string) error {
	if len(topics) == 0 {
		c.cmd.writeHelp(a.env.Stdout, c.path)
		return nil
	}
	sub := c.cmd.find(topics[0])
	if sub == nil && !c.cmd.hideHelpCommand && isHelp(topics[0]) {
		sub = helpCommand
	}
	if sub == nil {
		//lint:ignore ST1005 urfave/cli's message, kept word for word (it is printed after the program's name)
		return fmt.Errorf("No help topic for '%s'", topics[0])
	}
	sub.writeHelp(a.env.Stdout, c.path+" "+sub.name)
	return nil
}

// writeHelp prints cmd's help in urfave/cli v2's layout: NAME, USAGE,
// CATEGORY, DESCRIPTION, COMMANDS, then OPTIONS (GLOBAL OPTIONS at the
// root). path is the program's name and the command names.
func (cmd *command) writeHelp(w io.Writer, path string) {
	tw := tabwriter.NewWriter(w, 1, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "NAME:\n   %s - %s\n\nUSAGE:\n   ", path, cmd.usage)
	if cmd.usageText != "" {
		fmt.Fprintln(tw, cmd.usageText)
	} else {
		fmt.Fprintf(tw, "%s [command options]%s\n", path, prefixed(" ", cmd.argsUsage))
	}
	if cmd.category != "" {
		fmt.Fprintf(tw, "\nCATEGORY:\n   %s\n", cmd.category)
	}
	if cmd.description != "" {
		fmt.Fprintf(tw, "\nDESCRIPTION:\n%s\n", indent(cmd.description))
	}
	if len(cmd.subcommands) > 0 {
		fmt.Fprint(tw, "\nCOMMANDS:\n")
		var categories []string
		for _, s := range cmd.subcommands {
			if s.category == "" {
				fmt.Fprintf(tw, "   %s\t%s\n", s.name, s.usage)
			} else if !slices.Contains(categories, s.category) {
				categories = append(categories, s.category)
			}
		}
		if !cmd.hideHelpCommand {
			fmt.Fprintf(tw, "   %s, h\t%s\n", helpCommand.name, helpCommand.usage)
		}
		for _, cat := range categories {
			fmt.Fprintf(tw, "   %s:\n", cat)
			for _, s := range cmd.subcommands {
				if s.category == cat {
					fmt.Fprintf(tw, "     %s\t%s\n", s.name, s.usage)
				}
			}
		}
	}
	if !strings.Contains(path, " ") { // the root: only the program's name
		fmt.Fprint(tw, "\nGLOBAL OPTIONS:\n")
	} else {
		fmt.Fprint(tw, "\nOPTIONS:\n")
	}
	for _, f := range cmd.allFlags() {
		fmt.Fprintf(tw, "   %s\t%s\n", f.synopsis(), f.help())
	}
	_ = tw.Flush()
}

// synopsis is how help names the flag: its spellings and its value's
// placeholder.
func (f flagSpec) synopsis() string {
	names := make([]string, len(f.names))
	for i, n := range f.names {
		names[i] = "--" + n
		if len(n) == 1 {
			names[i] = "-" + n
		}
	}
	s := strings.Join(names, ", ")
	if f.kind == boolFlag {
		return s
	}
	placeholder, _ := f.unquoteUsage()
	s += " " + placeholder
	if f.kind == listFlag {
		s += " [ " + s + " ]"
	}
	return s
}

// help is the flag's usage without the backquotes, and its default.
func (f flagSpec) help() string {
	_, usage := f.unquoteUsage()
	if f.def != "" {
		usage += " (default: " + f.def + ")"
	}
	return usage
}

// unquoteUsage is flag.UnquoteUsage's split of the usage: the
// `PLACEHOLDER` ("value" if there is none, as urfave/cli also said) and the
// usage without the backquotes.
func (f flagSpec) unquoteUsage() (name, usage string) {
	return flag.UnquoteUsage(&flag.Flag{Usage: f.usage, Value: &flagValue{kind: f.kind}})
}

// indent indents every non-empty line of s by three spaces.
func indent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "   " + l
		}
	}
	return strings.Join(lines, "\n")
}

// prefixed is p+s, or "" when s is empty.
func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}
