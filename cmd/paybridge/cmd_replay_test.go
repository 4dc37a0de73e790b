package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/paybridge/paybridge/internal/audiofile"
)

const replayStart = "--start=2026-11-22T10:00:00Z"

func repoPath(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

func noCards(t *testing.T, outputs ...string) {
	t.Helper()
	for _, o := range outputs {
		for _, pan := range []string{"4242424242424242", "5555555555554444", "378282246310005", "424242424242"} {
			if strings.Contains(o, pan) {
				t.Fatal("a card number reached the replay output")
			}
		}
	}
}

func TestReplayDigitsVCC(t *testing.T) {
	code, stdout, stderr := runCmd(t, "replay", replayStart, "--plan", repoPath("examples", "plans", "vcc-secure-payments.xml"),
		"--digits", "12345678 W 4242424242424242# 1230 123")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	noCards(t, stdout, stderr)
	var res struct {
		Outcome   string            `json:"outcome"`
		Reason    string            `json:"reason"`
		Variables map[string]string `json:"variables"`
		Events    []map[string]any  `json:"events"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout is not one JSON object: %v", err)
	}
	if res.Outcome != "hangup" || res.Reason != "paid" || res.Variables["Pay.Result"] != "success" ||
		res.Variables["Pay.MaskedCard"] != "************4242" || res.Variables["Call.To"] != "+441632960100" || len(res.Events) < 20 {
		t.Fatalf("%s %s %v", res.Outcome, res.Reason, res.Variables)
	}
	// The access token the plan's Authorize interaction fetched is a credential: replay shows
	// it masked (it used to print it whole).
	if res.Variables["AccessToken"] != "********" || res.Variables["TokenType"] != "Bearer" {
		t.Errorf("AccessToken = %q, TokenType = %q", res.Variables["AccessToken"], res.Variables["TokenType"])
	}
	for _, k := range []string{"Pay.Result", "Pay.MaskedCard", "Pay.CardType", "Pay.ConfirmationCode", "Pay.ErrorType", "Pay.Attempts"} {
		if _, ok := res.Variables[k]; !ok {
			t.Errorf("output lacks %s", k)
		}
	}
}

// replayBranch is one line of testdata/replay/branches.tsv.
type replayBranch struct {
	name, plan, keys, faults string
	env                      map[string]string
}

func readBranches(t *testing.T) []replayBranch {
	t.Helper()
	b, err := os.ReadFile(repoPath("testdata", "replay", "branches.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []replayBranch
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			t.Fatalf("branches.tsv: %q has %d fields, want 5", line, len(f))
		}
		br := replayBranch{name: f[0], plan: f[1], keys: f[2], env: map[string]string{}}
		if f[3] != "-" {
			br.faults = f[3]
		}
		if f[4] != "-" {
			for _, kv := range strings.Fields(f[4]) {
				k, v, _ := strings.Cut(kv, "=")
				br.env[k] = v
			}
		}
		out = append(out, br)
	}
	return out
}

// TestReplayFixtures runs every recorded call of testdata/replay against its expectation, and
// every typed case of testdata/replay/branches.tsv (the VCC plan's failure branches among
// them), as make test does with the built binary.
func TestReplayFixtures(t *testing.T) {
	type fixture struct {
		plan, input, digits, expect, faults string
		env                                 map[string]string
	}
	cases := []fixture{
		{plan: "vcc-secure-payments.xml", input: "vcc-visa.wav", expect: "vcc-visa.expect.json"},
		{plan: "vcc-secure-payments.xml", input: "vcc-amex-rfc4733.pcap", expect: "vcc-amex-rfc4733.expect.json"},
		{plan: "vcc-secure-payments.xml", input: "vcc-mastercard-leaky.pcap", expect: "vcc-mastercard-leaky.expect.json"},
	}
	branches := readBranches(t)
	if len(branches) < 10 {
		t.Fatalf("branches.tsv has %d cases", len(branches))
	}
	for _, b := range branches {
		cases = append(cases, fixture{plan: b.plan + ".xml", digits: b.keys, expect: b.name + ".expect.json", faults: b.faults, env: b.env})
	}
	for _, tc := range cases {
		t.Run(tc.expect, func(t *testing.T) {
			args := []string{"replay", replayStart, "--json", "--plan", repoPath("examples", "plans", tc.plan), "--expect", repoPath("testdata", "replay", tc.expect)}
			if tc.input != "" {
				args = append(args, "--input", repoPath("testdata", "replay", tc.input))
			} else {
				args = append(args, "--digits", tc.digits)
			}
			if tc.faults != "" {
				args = append(args, "--faults", tc.faults)
			}
			code, stdout, stderr := runCmdEnv(t, tc.env, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			noCards(t, stdout, stderr)
			if strings.Count(strings.TrimSpace(stdout), "\n") != 0 {
				t.Fatalf("--json printed more than one line")
			}
		})
	}
}

func TestReplayExpectMismatch(t *testing.T) {
	exp := filepath.Join(t.TempDir(), "want.json")
	os.WriteFile(exp, []byte(`{"outcome":"transferred","variables":{"Pay.Result":"success"}}`), 0o644)
	code, _, stderr := runCmd(t, "replay", replayStart, "--plan", repoPath("examples", "plans", "pay-bill.xml"),
		"--digits", "12345678# W 4242*", "--expect", exp)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	for _, want := range []string{`$.outcome: expected "transferred", got "hangup"`,
		`$.variables.Pay.Result: expected "success", got "caller-interrupted-with-star"`, "0 passed, 1 failed"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}

func TestReplayManyInputsInParallel(t *testing.T) {
	args := []string{"replay", replayStart, "--parallel", "4", "--plan", repoPath("examples", "plans", "vcc-secure-payments.xml"),
		"--expect", repoPath("testdata", "replay", "vcc-visa.expect.json")}
	for range 6 {
		args = append(args, "--input", repoPath("testdata", "replay", "vcc-visa.wav"))
	}
	args = append(args, "--input", repoPath("testdata", "replay", "vcc-amex-rfc4733.pcap")) // pays, but not with a visa
	code, stdout, stderr := runCmd(t, args...)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (the amex input does not match the visa expectation)", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 7 {
		t.Fatalf("%d output lines, want 7 (JSON Lines, one per input)", len(lines))
	}
	if !strings.Contains(stderr, "replayed 7 input(s): 6 passed, 1 failed, 0 errors") ||
		!strings.Contains(stderr, `vcc-amex-rfc4733.pcap: output does not match`) {
		t.Fatalf("stderr:\n%s", stderr)
	}
	noCards(t, stdout, stderr)
}

func TestReplayUsageAndBadInputs(t *testing.T) {
	plan := repoPath("examples", "plans", "pay-bill.xml")
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"replay"}, 2, "need --plan"},
		{[]string{"replay", "--plan", plan}, 2, "exactly one of"},
		{[]string{"replay", "--plan", plan, "--digits", "1", "--input", "x.wav"}, 2, "exactly one of"},
		{[]string{"replay", "--plan", plan, "--digits", "12x"}, 2, "character 3 is not a key"},
		{[]string{"replay", "--plan", "missing.xml", "--digits", "1"}, 2, "cannot read plan"},
		{[]string{"replay", "--plan", plan, "--input", "nope.wav"}, 1, "nope.wav"},
		{[]string{"replay", "--plan", plan, "--digits", "1", "--expect", "missing.json"}, 2, "--expect"},
	} {
		code, _, stderr := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args[1:], code, stderr, tc.code, tc.msg)
		}
	}
}

func TestReplayInputDirectory(t *testing.T) {
	code, stdout, stderr := runCmd(t, "replay", replayStart, "--json", "--plan", repoPath("examples", "plans", "vcc-secure-payments.xml"),
		"--input", repoPath("testdata", "replay"), "--expect", repoPath("testdata", "replay"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if n := len(strings.Split(strings.TrimSpace(stdout), "\n")); n != 3 {
		t.Fatalf("%d results, want one per recording in testdata/replay (3)", n)
	}
	if !strings.Contains(stderr, "replayed 3 input(s): 3 passed") {
		t.Fatalf("stderr: %s", stderr)
	}
}

func TestReplayProgressBar(t *testing.T) {
	var b strings.Builder
	p := &progress{w: &b, total: 4, on: true}
	for range 4 {
		p.done()
	}
	p.finish()
	want := "\r[#######.......................] 1/4\r[###############...............] 2/4" +
		"\r[######################........] 3/4\r[##############################] 4/4\n"
	if b.String() != want {
		t.Fatalf("progress output %q", b.String())
	}
	if isTerminal(&b) || newProgress(&b, 4, true).on {
		t.Fatal("a buffer is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Fatal("a regular file is not a terminal")
	}
}

// TestReplayTimeline: --timeline prints one readable line per step — its plan line, outcome
// and duration, the keys of each entry folded into a count and a time, the HTTP exchange with
// method, host, status and latency, what the step set — and never a card digit.
func TestReplayTimeline(t *testing.T) {
	code, _, stderr := runCmd(t, "replay", replayStart, "--timeline", "--plan", repoPath("examples", "plans", "pay-bill.xml"),
		"--digits", "12345678# W 4242424242424242# 1230 123")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, re := range []string{
		`(?m)^digits +0\.00s +call started +plan pay-bill`,
		`(?m)^digits +0\.10s  L15   Gather +success +1\.4 s  Account: 8 digits in 1\.4 s \(attempt 1, success\) · set Account="12345678", Account\.Result="success"$`,
		`(?m)^digits +1\.50s  L17   ApiInteraction +HTTP 200 .* GET 127\.0\.0\.1:\d+ → 200 in \d+ ms · set LookupStatus="200", Amount="12\.34"`,
		`(?m)^digits +1\.50s  L34   Pay +success +9\.1 s .*card number: 16 digits in 3\.2 s · .*expiry date: 4 digits in 0\.60 s · .*security code: 3 digits in 0\.40 s · .*payment success \*{12}4242 visa confirmation ch_\w+ · set Pay\.Result="success".*Pay\.MaskedCard="\*{12}4242"`,
		`(?m)^digits +10\.64s  L43   Switch +case "success"`,
		`(?m)^digits +\d+\.\d+s  L44     Play +played`,
		`(?m)^digits +\d+\.\d+s +call ended: hangup: normal +9 steps$`,
	} {
		if !regexp.MustCompile(re).MatchString(stderr) {
			t.Errorf("timeline does not match %s:\n%s", re, stderr)
		}
	}
	// One line per step, not one per keypress: 9 steps, the call's start and its end.
	if n := strings.Count(strings.TrimSpace(stderr), "\n") + 1; n != 11 {
		t.Errorf("%d lines, want 11:\n%s", n, stderr)
	}
	noCards(t, stderr)
}

// TestReplaySpeechAudio replays the <Say> example with the espeak-ng program and --speech-out,
// then decodes every WAV it wrote: each piece of speech lasts what its say event says, as
// long as its words need (not a blip, not minutes), and is sound, not silence. The durations
// are checked within bounds — an espeak-ng upgrade may move them a little.
func TestReplaySpeechAudio(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCmd(t, "replay", replayStart, "--json", "--plan", repoPath("examples", "plans", "say.xml"),
		"--speech-out", out, "--digits", "WW 12345678 WWWWWWWWW 1 W 4242424242424242# 1230 123")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	noCards(t, stdout, stderr)
	var res struct {
		Events []struct {
			Type   string `json:"type"`
			Fields struct {
				Text       string `json:"text"`
				DurationMS int64  `json:"durationMs"`
				Error      string `json:"error"`
			} `json:"fields"`
		} `json:"events"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	var said []int64
	var texts []string
	for _, e := range res.Events {
		if e.Type == "say" {
			if e.Fields.Error != "" {
				t.Fatalf("speech failed: %s", e.Fields.Error)
			}
			said, texts = append(said, e.Fields.DurationMS), append(texts, e.Fields.Text)
		}
	}
	files, _ := filepath.Glob(filepath.Join(out, "digits-say-*.wav"))
	if len(files) != len(said) || len(files) < 6 {
		t.Fatalf("%d WAVs for %d say events", len(files), len(said))
	}
	for i, f := range files {
		pcm, err := audiofile.ReadAudioFile(f, audiofile.FormatWAV)
		if err != nil {
			t.Fatal(err)
		}
		ms := int64(len(pcm)) / 8
		if ms != said[i] {
			t.Errorf("%s: %d ms of audio, the event says %d ms", filepath.Base(f), ms, said[i])
		}
		// About 60–250 ms a word at 165 words a minute (espeak-ng says 0.36 s a word; digits
		// and dates expand into several words each).
		words := int64(len(strings.Fields(texts[i])))
		if ms < 60*words || ms > 2500+900*words {
			t.Errorf("%s (%q): %d ms for %d words", filepath.Base(f), texts[i], ms, words)
		}
		var sum float64
		loud := 0
		for _, s := range pcm {
			sum += float64(s) * float64(s)
			if s > 3000 || s < -3000 {
				loud++
			}
		}
		rms := math.Sqrt(sum / float64(len(pcm)))
		if rms < 1000 || loud < len(pcm)/20 {
			t.Errorf("%s: RMS %.0f, %d of %d samples loud: silence where speech should be", filepath.Base(f), rms, loud, len(pcm))
		}
	}
}

// --faults: the provider fails every charge, so the plan's payment ends in a connector error
// and the plan says so.
func TestReplayFaults(t *testing.T) {
	code, stdout, stderr := runCmd(t, "replay", replayStart, "--json", "--plan", repoPath("examples", "plans", "pay-bill.xml"),
		"--faults", `{"fail_first":100,"fail_status":503,"paths":["/globalpci/v1/session"]}`,
		"--digits", "12345678# W 4242424242424242# 1230 123")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Variables map[string]string `json:"variables"`
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Variables["Pay.Result"] != "payment-connector-error" || res.Variables["Pay.ConnectorError"] == "" {
		t.Fatalf("Pay %q %q", res.Variables["Pay.Result"], res.Variables["Pay.ConnectorError"])
	}
	noCards(t, stdout, stderr)
	if code, _, stderr := runCmd(t, "replay", "--plan", repoPath("examples", "plans", "pay-bill.xml"), "--digits", "1", "--faults", "{"); code != 2 || !strings.Contains(stderr, "--faults") {
		t.Fatalf("bad --faults: %d %s", code, stderr)
	}
}

func TestReplayExpectDirectoryMissingOne(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vcc-visa.expect.json"), []byte(`{"variables":{"Pay.CardType":"visa"}}`), 0o644)
	code, _, stderr := runCmd(t, "replay", replayStart, "--plan", repoPath("examples", "plans", "vcc-secure-payments.xml"),
		"--input", repoPath("testdata", "replay", "vcc-visa.wav"), "--input", repoPath("testdata", "replay", "vcc-amex-rfc4733.pcap"), "--expect", dir)
	if code != 1 || !strings.Contains(stderr, "vcc-amex-rfc4733.pcap: expectation:") || !strings.Contains(stderr, "1 passed, 0 failed, 1 errors") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}
