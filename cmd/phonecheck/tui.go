package main

// Output rules, enforced by the helpers below:
//
//   - A command's result goes to stdout; everything else (progress, warnings,
//     errors, hints) goes to stderr, so `phonecheck ... > file` keeps only
//     the result.
//   - An error is one line "phonecheck: error: ...", then optional lines
//     "phonecheck: hint: ..." that say what to do next.
//   - A warning is "phonecheck: warning: ..." and does not change the exit
//     status.
//   - No message ever holds a full phone number or a full hash: numbers are
//     shown redacted (phone.Redact), except the user's own number in the
//     result of check and normalize, which is the output they asked for.
//   - Exit status: 0 success, 1 runtime error, 2 usage error, 3 exposed
//     (check --exit-code only).

import (
	"errors"
	"fmt"
)

const (
	exitOK      = 0
	exitError   = 1
	exitUsage   = 2
	exitExposed = 3
)

func errorf(format string, a ...any) {
	fmt.Fprintf(stderr, "phonecheck: error: "+format+"\n", a...)
}

func warningf(format string, a ...any) {
	fmt.Fprintf(stderr, "phonecheck: warning: "+format+"\n", a...)
}

func hintf(format string, a ...any) {
	fmt.Fprintf(stderr, "phonecheck: hint: "+format+"\n", a...)
}

// usageError is an error in how the command was called: exit status 2.
type usageError struct {
	msg   string
	hints []string
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) *usageError {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

func (e *usageError) hint(format string, a ...any) *usageError {
	e.hints = append(e.hints, fmt.Sprintf(format, a...))
	return e
}

// hintedError is a runtime error with hints: exit status 1.
type hintedError struct {
	err   error
	hints []string
}

func (e *hintedError) Error() string { return e.err.Error() }
func (e *hintedError) Unwrap() error { return e.err }

func withHint(err error, format string, a ...any) error {
	return &hintedError{err: err, hints: []string{fmt.Sprintf(format, a...)}}
}

// exitCode is returned by Run to exit with a status without an error
// message (check --exit-code).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func exitStatus(c *Command, err error) int {
	if err == nil {
		return exitOK
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	var ue *usageError
	if errors.As(err, &ue) {
		errorf("%s: %s", c.Name, ue.msg)
		for _, h := range ue.hints {
			hintf("%s", h)
		}
		if len(ue.hints) == 0 {
			hintf("run 'phonecheck help %s' for its usage", c.Name)
		}
		return exitUsage
	}
	errorf("%s: %v", c.Name, err)
	var he *hintedError
	if errors.As(err, &he) {
		for _, h := range he.hints {
			hintf("%s", h)
		}
	}
	return exitError
}
