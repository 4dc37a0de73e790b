package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCmdEnv(t, nil, args...)
}

// runCmdEnv is runCmd with an environment (nothing else of the process's is seen).
func runCmdEnv(t *testing.T, environ map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cmdEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string { return environ[k] }}
	code = dispatch(context.Background(), env, args)
	return code, out.String(), errb.String()
}

func TestUnknownCommand(t *testing.T) {
	code, _, stderr := runCmd(t, "frobnicate")
	if code != 2 || !strings.Contains(stderr, `unknown command "frobnicate"`) {
		t.Fatalf("code=%d stderr=%q", code, stderr)
	}
}

func TestHelpListsCommands(t *testing.T) {
	code, stdout, _ := runCmd(t, "help")
	if code != 0 || !strings.Contains(stdout, "usage: paybridge COMMAND") {
		t.Fatalf("code=%d stdout=%q", code, stdout)
	}
	for name := range commands {
		if !strings.Contains(stdout, name) {
			t.Errorf("help does not list %q", name)
		}
	}
}
