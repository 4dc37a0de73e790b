package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestValidateHostilePlans runs `paybridge validate` on the hostile plans of
// callplan/testdata/hostile (XXE, billion laughs, a UTF-7 plan), on 50 MB through standard
// input, and on 100 000 levels of nesting: each exits 1 with a file:line:col message, and
// nothing of /etc/passwd is printed.
func TestValidateHostilePlans(t *testing.T) {
	passwd, _ := os.ReadFile("/etc/passwd")
	firstLine, _, _ := bytes.Cut(passwd, []byte("\n"))
	if len(firstLine) == 0 {
		t.Fatal("control: /etc/passwd is not readable here, so a leak of it could not be seen")
	}
	positioned := regexp.MustCompile(`(?m)^\S+:\d+:\d+: `)
	dir := filepath.Join("..", "..", "callplan", "testdata", "hostile")
	for _, name := range []string{"xxe-file.xml", "xxe-text.xml", "billion-laughs.xml", "quadratic-blowup.xml", "utf7-charset.xml"} {
		code, stdout, stderr := runCmd(t, "validate", filepath.Join(dir, name))
		if code != 1 || !positioned.MatchString(stderr) {
			t.Errorf("%s: exit %d, stderr:\n%s", name, code, stderr)
		}
		if out := stdout + stderr; strings.Contains(out, string(firstLine)) || strings.Contains(out, "root:") {
			t.Errorf("%s: the output holds /etc/passwd", name)
		}
	}

	stdin := func(src io.Reader) (int, string) {
		var out, errb bytes.Buffer
		env := &cmdEnv{stdin: src, stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
		return dispatch(context.Background(), env, []string{"validate", "-"}), errb.String()
	}
	// 50 MB that never ends with a valid document; only the first MiB and a byte are read.
	huge := io.MultiReader(strings.NewReader(`<CallPlan name="huge"><Match number="+441632960000"/><Flow>`),
		io.LimitReader(repeatReader(`<Play prompt="welcome"/>`), 50<<20))
	if code, stderr := stdin(huge); code != 1 || !strings.Contains(stderr, "<stdin>:1:1: plan is larger than") {
		t.Errorf("50 MB on stdin: exit %d, stderr:\n%s", code, stderr)
	}
	deep := strings.Repeat("<a>", 100000) + strings.Repeat("</a>", 100000)
	if code, stderr := stdin(strings.NewReader(`<CallPlan name="deep"><Match number="+441632960000"/><Flow>` + deep + `</Flow></CallPlan>`)); code != 1 || !strings.Contains(stderr, "nested deeper than") || !positioned.MatchString(stderr) {
		t.Errorf("100 000 levels on stdin: exit %d, stderr:\n%s", code, stderr)
	}
}

// repeatReader repeats s for ever.
type repeatReader string

func (r repeatReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		n += copy(p[n:], r)
	}
	return n, nil
}
