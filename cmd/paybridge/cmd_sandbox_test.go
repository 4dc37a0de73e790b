package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSandboxCommandServes(t *testing.T) {
	pr, pw := io.Pipe()
	var errb strings.Builder
	env := &cmdEnv{stdin: strings.NewReader(""), stdout: pw, stderr: &errb, getenv: func(string) string { return "" }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- dispatch(ctx, env, []string{"sandbox", "--addr", "127.0.0.1:0", "--faults", `{"latency":"1ms"}`})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no URL printed: %v (stderr %q)", err, errb.String())
	}
	url := strings.TrimSpace(line[strings.Index(line, "http://"):])
	go io.Copy(io.Discard, pr)
	resp, err := http.Get(url + "/billing/accounts/12345678/balance")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || m["balance"]["amount"] != "12.34" {
		t.Fatalf("balance: %v %v", m, err)
	}
	resp.Body.Close()
	resp, err = http.Get(url + "/admin/faults")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"latency":"1ms"`) {
		t.Fatalf("faults flag not applied: %s", b)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d, stderr %q", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not stop on cancel")
	}
}

func TestSandboxCommandBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"sandbox", "--clients", "nocolon"},
		{"sandbox", "--faults", `{"fail_rate":7}`},
		{"sandbox", "extra"},
		{"sandbox", "--nope"},
	} {
		code, _, stderr := runCmd(t, args...)
		if code != 2 || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if code, _, stderr := runCmd(t, "sandbox", "--addr", "256.0.0.1:99999"); code != 1 || !strings.Contains(stderr, "sandbox:") {
		t.Errorf("bad addr: %d %q", code, stderr)
	}
}
