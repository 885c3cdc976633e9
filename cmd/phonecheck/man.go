package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

var cmdMan = &Command{
	Name:      "man",
	UsageLine: "man",
	Short:     "print the manual page (roff) made from these help texts",
	Long: `
Man prints phonecheck(1) in roff, made from the help texts of every
command, so the page and 'phonecheck help' never disagree. The release
build installs it: 'phonecheck man | man -l -' reads it in place.
`,
	Hidden: true,
}

func init() {
	cmdMan.Run = func(ctx context.Context, cmd *Command, args []string) error {
		if len(args) != 0 {
			return usagef("man takes no arguments")
		}
		v := version
		if bi, ok := debug.ReadBuildInfo(); v == "" && ok {
			v = bi.Main.Version
		}
		writeMan(stdout, v)
		return nil
	}
}

// writeMan writes the manual page. It has no date, so that the same
// sources give the same page.
func writeMan(w io.Writer, version string) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	p(`.TH PHONECHECK 1 "" "phonecheck %s" "User Commands"`, roffEscape(version))
	p(".SH NAME")
	p(`phonecheck \- tell whether a phone number is in a known leak`)
	p(".SH SYNOPSIS")
	p(`.B phonecheck`)
	p(`.I command`)
	p(`[flags] [arguments]`)
	p(".SH DESCRIPTION")
	p("Phonecheck tells whether a phone number is in a known leak, without the number")
	p("leaving the device: the command checks an index file, or asks a server")
	p("for a range of hashes (or, in private mode, an oblivious evaluation) and")
	p("compares on the device.")
	p(`Each command below is also described by \fBphonecheck help\fR \fIcommand\fR.`)
	p(".SH COMMANDS")
	for _, c := range commands {
		if c.Hidden {
			continue
		}
		c.newFlags()
		p(".SS %s", roffEscape(c.Name))
		p(".nf")
		for _, l := range strings.Split(c.UsageLine, "\n") {
			p(`\fBphonecheck\fR %s`, roffEscape(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "phonecheck "))))
		}
		p(".fi")
		writeRoffText(w, c.Long)
		c.Flag.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			p(".TP")
			if name != "" {
				p(`\fB\-\-%s\fR \fI%s\fR`, roffEscape(f.Name), roffEscape(name))
			} else {
				p(`\fB\-\-%s\fR`, roffEscape(f.Name))
			}
			if d := f.DefValue; d != "" && d != "0" && d != "false" && d != "[]" {
				usage += " (default " + d + ")"
			}
			p("%s", roffLine(usage))
		})
	}
	p(".SH EXIT STATUS")
	p("0 success (exposed or not: see")
	p(`\fBcheck \-\-exit\-code\fR),`)
	p("1 runtime error, 2 usage error, 3 exposed")
	p(`(\fBcheck \-\-exit\-code\fR only).`)
	p(".SH FILES")
	p(".TP")
	p(`.I /etc/default/phonecheck`)
	p(`The address, index and flags of \fBphonecheck serve\fR run by phonecheck.service.`)
	p(".TP")
	p(`.I /etc/phonecheck/server.key`)
	p(`The secret key of the private mode, handed to the service by systemd (LoadCredential=).`)
	p(".SH SEE ALSO")
	p(`\fBsystemctl\fR(1), \fBsystemd.exec\fR(5)`)
}

// writeRoffText writes a help text: paragraphs become .PP, lines indented
// by a tab (examples, tables) are kept as they are.
func writeRoffText(w io.Writer, text string) {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	para, literal := true, false
	for _, l := range lines {
		switch {
		case strings.TrimSpace(l) == "":
			if literal {
				fmt.Fprintln(w, ".fi")
				fmt.Fprintln(w, ".RE")
				literal = false
			}
			para = true
		case strings.HasPrefix(l, "\t"):
			if !literal {
				fmt.Fprintln(w, ".PP")
				fmt.Fprintln(w, ".RS 4")
				fmt.Fprintln(w, ".nf")
				literal = true
			}
			fmt.Fprintln(w, roffLine(strings.TrimPrefix(l, "\t")))
		default:
			if literal {
				fmt.Fprintln(w, ".fi")
				fmt.Fprintln(w, ".RE")
				literal = false
				para = true
			}
			if para {
				fmt.Fprintln(w, ".PP")
				para = false
			}
			fmt.Fprintln(w, roffLine(l))
		}
	}
	if literal {
		fmt.Fprintln(w, ".fi")
		fmt.Fprintln(w, ".RE")
	}
}

// roffEscape escapes text for roff: backslashes and hyphens (which roff
// may render as something other than the minus a flag needs).
func roffEscape(s string) string {
	return strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
}

// roffLine escapes a line of text, and guards a leading . or ' that roff
// would read as a request.
func roffLine(s string) string {
	s = roffEscape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}
