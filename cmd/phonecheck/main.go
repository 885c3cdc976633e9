// Command phonecheck tells whether a phone number is in a known leak,
// without the number leaving the device.
//
// The list below is the table of contents: one file a subcommand.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// commands, in the order help lists them.
var commands = []*Command{
	cmdCheck,     // is this number in the index?
	cmdBatch,     // every number of a file -> exposed or not
	cmdBuild,     // leak datasets -> index file
	cmdMerge,     // indexes -> one index (a new leak merged in)
	cmdNormalize, // lines on stdin -> E.164 or why not
	cmdInfo,      // what an index holds
	cmdVerify,    // every checksum of an index
	cmdGen,       // seeded synthetic leak datasets
	cmdServe,     // the range endpoint over HTTP
	cmdExport,    // every range as a static file
	cmdAnonymity, // valid numbers per country and prefix length
	cmdKeygen,    // the secret key of the private (OPRF) mode
	cmdSeal,      // plain index -> private (OPRF) index
	cmdVersion,   // what this binary was built from
	cmdMan,       // the manual page, from these help texts (hidden)
}

// A Command is one subcommand.
type Command struct {
	Name      string
	UsageLine string // after "phonecheck "
	Short     string
	Long      string
	Hidden    bool // left out of the list 'phonecheck help' prints
	// SetFlags registers the command's flags. It is called before every
	// parse with a new FlagSet, which resets every flag to its default.
	SetFlags func(fs *flag.FlagSet)
	Flag     *flag.FlagSet
	Run      func(ctx context.Context, cmd *Command, args []string) error
}

const usageText = `phonecheck tells whether a phone number is in a known leak.

Usage:

	phonecheck <command> [flags] [arguments]

Commands:
%s
Run 'phonecheck help <command>' for a command's flags.

Exit status: 0 success (exposed or not: see 'check --exit-code'),
1 runtime error, 2 usage error, 3 exposed (check --exit-code only).
`

func usage(w io.Writer) {
	var b strings.Builder
	for _, c := range commands {
		if c.Hidden {
			continue
		}
		fmt.Fprintf(&b, "\t%-10s %s\n", c.Name, c.Short)
	}
	fmt.Fprintf(w, usageText, b.String())
}

func (c *Command) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: phonecheck %s\n\n%s\n", c.UsageLine, strings.TrimSpace(c.Long))
	var hasFlags bool
	c.Flag.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintf(w, "\nFlags:\n")
		c.Flag.SetOutput(w)
		c.Flag.PrintDefaults()
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// stdio is where a command reads and writes; tests swap it.
var (
	stdin  io.Reader = os.Stdin
	stdout io.Writer = os.Stdout
	stderr io.Writer = os.Stderr
)

// run runs one command line and returns the exit status.
func run(args []string, in io.Reader, out, errw io.Writer) int {
	stdin, stdout, stderr = in, out, errw
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	name := args[0]
	if name == "--version" || name == "-version" {
		name = "version"
	}
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		if len(args) > 1 {
			if c := lookup(args[1]); c != nil {
				c.newFlags()
				c.usage(stdout)
				return exitOK
			}
			errorf("unknown command %q", args[1])
			hintf("run 'phonecheck help' for the list of commands")
			return exitUsage
		}
		usage(stdout)
		return exitOK
	}
	c := lookup(name)
	if c == nil {
		errorf("unknown command %q", name)
		hintf("run 'phonecheck help' for the list of commands")
		return exitUsage
	}
	c.newFlags()
	if err := c.Flag.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(stdout)
			return exitOK
		}
		errorf("%s: %v", c.Name, err)
		hintf("run 'phonecheck help %s' for its flags", c.Name)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := c.Run(ctx, c, c.Flag.Args())
	return exitStatus(c, err)
}

func lookup(name string) *Command {
	for _, c := range commands {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (c *Command) newFlags() {
	c.Flag = flag.NewFlagSet(c.Name, flag.ContinueOnError)
	c.Flag.SetOutput(io.Discard)
	if c.SetFlags != nil {
		c.SetFlags(c.Flag)
	}
}
