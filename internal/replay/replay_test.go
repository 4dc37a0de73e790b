package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/internal/audiofile"
)

var testCards = []string{"4242424242424242", "5555555555554444", "378282246310005"}

// planFile parses an example plan of examples/plans, or a test plan of testdata/plans when
// name has a directory ("sandbox-defaults/first-plan.xml").
func planFile(t testing.TB, name string) *callplan.Plan {
	t.Helper()
	path := filepath.Join("..", "..", "examples", "plans", name)
	if filepath.Dir(name) != "." {
		path = filepath.Join("..", "..", "testdata", "plans", name)
	}
	p, ds := callplan.ParseFile(path, func(string) string { return "" })
	if ds.HasErrors() {
		t.Fatalf("%s:\n%s", name, ds.String())
	}
	return p
}

func startSandbox(t testing.TB) *Sandbox {
	t.Helper()
	sb, err := StartSandbox(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sb.Close() })
	return sb
}

// replayOnce runs in through plan against a fresh sandbox and checks the output for card
// numbers (JSON and logs).
func replayOnce(t *testing.T, sb *Sandbox, plan *callplan.Plan, in *Input) *Result {
	t.Helper()
	var logs bytes.Buffer
	opts := sb.Options()
	opts.Plan = plan
	opts.From, opts.To = "+447700900123", "+441632960100"
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	res, err := Run(context.Background(), in, opts)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(res)
	for _, pan := range testCards {
		if strings.Contains(string(j), pan) || strings.Contains(logs.String(), pan) {
			t.Fatalf("card number in the replay output or logs")
		}
	}
	return res
}

func TestParseDigits(t *testing.T) {
	in, err := ParseDigits("12w#W a")
	if err != nil {
		t.Fatal(err)
	}
	want := []Key{{100 * time.Millisecond, '1', dtmf.SourceRFC4733}, {300 * time.Millisecond, '2', dtmf.SourceRFC4733},
		{1000 * time.Millisecond, '#', dtmf.SourceRFC4733}, {2200 * time.Millisecond, 'A', dtmf.SourceRFC4733}}
	if len(in.Keys) != len(want) {
		t.Fatalf("%d keys", len(in.Keys))
	}
	for i := range want {
		if in.Keys[i] != want[i] {
			t.Errorf("key %d: %+v, want %+v", i, in.Keys[i], want[i])
		}
	}
	if in.Length != 2300*time.Millisecond {
		t.Errorf("length %v", in.Length)
	}
	for _, bad := range []string{"12x", "E", strings.Repeat("1", MaxDigitsLen+1)} {
		if _, err := ParseDigits(bad); !errors.Is(err, ErrBadDigits) {
			t.Errorf("ParseDigits(%.10q) = %v", bad, err)
		}
	}
}

func FuzzParseDigits(f *testing.F) {
	for _, s := range []string{"", "123#", "wW*#ABCDabcd", "1-2,3 4", "\x00", "12x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, err := ParseDigits(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "0123456789") && strings.Contains(err.Error(), s) && len(s) > 3 {
				t.Fatalf("error repeats the input")
			}
			return
		}
		var last time.Duration
		for _, k := range in.Keys {
			if !k.Digit.Valid() || k.At < last || k.At > in.Length {
				t.Fatalf("bad key timeline")
			}
			last = k.At
		}
	})
}

func TestMatch(t *testing.T) {
	out := map[string]any{"outcome": "hangup", "variables": map[string]any{"Pay.Result": "success", "X": "1"},
		"events": []any{map[string]any{"type": "step"}, map[string]any{"type": "pay.completed", "fields": map[string]any{"result": "success"}}}, "keys": 24.0}
	for _, tc := range []struct {
		exp   string
		diffs int
	}{
		{`{"outcome":"hangup"}`, 0},
		{`{"variables":{"Pay.Result":"success"},"keys":24}`, 0},
		{`{"events":[{"type":"step"},{"type":"pay.completed","fields":{"result":"success"}}]}`, 0},
		{`{"events":[{"type":"pay.completed"},{"type":"step"}]}`, 1}, // order matters
		{`{"outcome":"transferred","variables":{"Missing":"x"}}`, 2},
		{`{"keys":"24"}`, 1},
	} {
		d, err := MatchJSON([]byte(tc.exp), out)
		if err != nil || len(d) != tc.diffs {
			t.Errorf("MatchJSON(%s) = %v %v, want %d diffs", tc.exp, d, err, tc.diffs)
		}
	}
	if _, err := MatchJSON([]byte(`{`), out); err == nil {
		t.Error("bad expect JSON accepted")
	}
}

// TestVCCSecurePaymentsPaysAgainstSandbox is the compatibility target: the Vonage VCC flow
// (Authorize → Start Session → Pay session=… → status query) pays through the sandbox over
// real HTTP.
func TestVCCSecurePaymentsPaysAgainstSandbox(t *testing.T) {
	sb := startSandbox(t)
	in, err := ParseDigits("12345678 W 4242424242424242# 1230 123")
	if err != nil {
		t.Fatal(err)
	}
	res := replayOnce(t, sb, planFile(t, "vcc-secure-payments.xml"), in)
	v := res.Variables
	if res.Outcome != engine.ResultHangup || res.Reason != "paid" {
		t.Fatalf("outcome %s %q; vars %v", res.Outcome, res.Reason, v)
	}
	for k, want := range map[string]string{"Pay.Result": "success", "Pay.MaskedCard": "************4242", "Pay.CardType": "visa",
		"AuthorizeResponseCode": "200", "GlobalPCIResponseCode": "200", "GlobalPCI|SessionState": "Completed", "Amount": "12.34"} {
		if v[k] != want {
			t.Errorf("%s = %q, want %q", k, v[k], want)
		}
	}
	if res.SecureKeys != 16+1+4+3 {
		t.Errorf("%d keys heard in the secure window, want every key of the card (24)", res.SecureKeys)
	}
	if v["Pay.ConfirmationCode"] == "" || v["Pay.SessionId"] != v["GlobalPCI|SessionId"] {
		t.Errorf("confirmation %q session %q/%q", v["Pay.ConfirmationCode"], v["Pay.SessionId"], v["GlobalPCI|SessionId"])
	}
}

func TestDeclineAndLinkFallback(t *testing.T) {
	sb := startSandbox(t)
	// Declined card, then the pay-bill plan's default branch.
	in, _ := ParseDigits("12345678# W 4000000000000002# 1230 123")
	res := replayOnce(t, sb, planFile(t, "pay-bill.xml"), in)
	if res.Variables["Pay.Result"] != "payment-connector-error" || res.Variables["Pay.ConnectorError"] != "card_declined" {
		t.Fatalf("decline: %v", res.Variables)
	}
	// Star abandons: the plan texts a payment link through the sandbox's outbox.
	in, _ = ParseDigits("12345678# W 4242*")
	res = replayOnce(t, sb, planFile(t, "pay-bill.xml"), in)
	if res.Variables["Pay.Result"] != "caller-interrupted-with-star" || res.Variables["Link.Result"] != "success" {
		t.Fatalf("link fallback: %v", res.Variables)
	}
	if len(sb.Store.Outbox()) != 1 {
		t.Fatalf("outbox has %d texts", len(sb.Store.Outbox()))
	}
}

// TestRecordedInputs replays the same keys as a WAV (in-band tones through the detector) and
// as typed digits, and expects the same result.
func TestRecordedWAV(t *testing.T) {
	sb := startSandbox(t)
	dir := t.TempDir()
	opt := dtmf.DefaultToneOptions()
	opt.Duration, opt.Gap = 80*time.Millisecond, 80*time.Millisecond
	silence := make([]int16, 8000)
	var pcm []int16
	pcm = append(pcm, silence...)
	pcm = append(pcm, dtmf.GenerateDigits("12345678", opt)...)
	pcm = append(pcm, silence...)
	pcm = append(pcm, dtmf.GenerateDigits("4242424242424242#", opt)...)
	pcm = append(pcm, silence...)
	pcm = append(pcm, dtmf.GenerateDigits("1230", opt)...)
	pcm = append(pcm, dtmf.GenerateDigits("123", opt)...)
	for _, enc := range []audiofile.Encoding{audiofile.PCM16, audiofile.ULaw, audiofile.ALaw} {
		path := filepath.Join(dir, "call-"+enc.String()+".wav")
		if err := audiofile.WriteWAVFile(path, pcm, enc); err != nil {
			t.Fatal(err)
		}
		in, err := ReadInput(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(in.Keys) != 8+17+7 {
			t.Fatalf("%s: detector found %d keys", enc, len(in.Keys))
		}
		res := replayOnce(t, sb, planFile(t, "vcc-secure-payments.xml"), in)
		if res.Variables["Pay.Result"] != "success" || res.Reason != "paid" {
			t.Fatalf("%s: %s %v", enc, res.Reason, res.Variables["Pay.Result"])
		}
	}
}

func TestReadInputErrors(t *testing.T) {
	if _, err := ReadInput("nope.xyz"); !errors.Is(err, ErrInput) {
		t.Errorf("unknown extension: %v", err)
	}
	if _, err := ReadInput(filepath.Join(t.TempDir(), "missing.wav")); !errors.Is(err, ErrInput) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzMatchJSON(f *testing.F) {
	f.Add([]byte(`{"outcome":"hangup","events":[{"type":"step"}]}`))
	f.Add([]byte(`[1,2,{"a":null}]`))
	f.Add([]byte(`{`))
	out := map[string]any{"outcome": "hangup", "events": []any{map[string]any{"type": "step"}}, "n": 1.0}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := MatchJSON(b, out)
		if err == nil && d == nil {
			// A match must also hold against itself plus extra keys.
			var exp any
			_ = json.Unmarshal(b, &exp)
			if len(Match(exp, exp)) != 0 {
				t.Fatalf("a document does not match itself")
			}
		}
	})
}

// TestRawAndPcapInbandWithInfo: headerless G.711/PCM16 files, and a pcap whose account number
// is in-band in PCMU audio and whose card arrives as SIP INFO (application/dtmf-relay).
func TestRawAndPcapInbandWithInfo(t *testing.T) {
	sb := startSandbox(t)
	dir := t.TempDir()
	opt := dtmf.DefaultToneOptions()
	opt.Duration, opt.Gap = 80*time.Millisecond, 120*time.Millisecond
	var pcm []int16
	pcm = append(pcm, make([]int16, 8000)...)
	pcm = append(pcm, dtmf.GenerateDigits("12345678", opt)...)
	pcm = append(pcm, make([]int16, 8000)...)
	pcm = append(pcm, dtmf.GenerateDigits("5555555555554444", opt)...)
	pcm = append(pcm, dtmf.GenerateDigits("1230123", opt)...)
	pcm = append(pcm, make([]int16, 8000)...)
	for ext, enc := range map[string]func(int16) byte{".ul": dtmf.LinearToULaw, ".al": dtmf.LinearToALaw, ".s16": nil} {
		var b []byte
		for _, s := range pcm {
			if enc != nil {
				b = append(b, enc(s))
			} else {
				b = append(b, byte(s), byte(uint16(s)>>8))
			}
		}
		path := filepath.Join(dir, "call"+ext)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		in, err := ReadInput(path)
		if err != nil {
			t.Fatal(err)
		}
		res := replayOnce(t, sb, planFile(t, "vcc-secure-payments.xml"), in)
		if res.Keys != 31 || res.Variables["Pay.Result"] != "success" || res.Variables["Pay.CardType"] != "mastercard" {
			t.Fatalf("%s: %d keys, %v", ext, res.Keys, res.Variables["Pay.Result"])
		}
	}

	// pcap: 3 s of PCMU with the account in-band, then the card, expiry and CVV as SIP INFO.
	var buf bytes.Buffer
	pw, err := audiofile.NewPcapWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	phone, pbx := netip.MustParseAddrPort("192.0.2.10:40000"), netip.MustParseAddrPort("192.0.2.1:20000")
	sipPhone, sipPBX := netip.MustParseAddrPort("192.0.2.10:5060"), netip.MustParseAddrPort("192.0.2.1:5060")
	var audio []int16
	audio = append(audio, make([]int16, 4000)...)
	audio = append(audio, dtmf.GenerateDigits("12345678", opt)...)
	audio = append(audio, make([]int16, 20*8000)...)
	for i := 0; i+160 <= len(audio); i += 160 {
		payload := make([]byte, 160)
		for j := range payload {
			payload[j] = dtmf.LinearToULaw(audio[i+j])
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i / 160), Timestamp: uint32(i), SSRC: 7}, Payload: payload}
		if err := pw.WriteRTP(t0.Add(time.Duration(i)*time.Second/8000), phone, pbx, p); err != nil {
			t.Fatal(err)
		}
	}
	at := 4 * time.Second
	for i, k := range "5555555555554444" + "1230" + "123" {
		body := fmt.Sprintf("Signal=%c\r\nDuration=160\r\n", k)
		msg := fmt.Sprintf("INFO sip:pbx@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK%d\r\nCall-ID: c1@192.0.2.10\r\nCSeq: %d INFO\r\nContent-Type: application/dtmf-relay\r\nContent-Length: %d\r\n\r\n%s",
			i, i+2, len(body), body)
		if err := pw.WriteUDP(t0.Add(at), sipPhone, sipPBX, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		at += 250 * time.Millisecond
	}
	path := filepath.Join(dir, "info.pcap")
	os.WriteFile(path, buf.Bytes(), 0o644)
	in, err := ReadInput(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Keys) != 8+16+4+3 {
		t.Fatalf("pcap: %d keys", len(in.Keys))
	}
	res := replayOnce(t, sb, planFile(t, "vcc-secure-payments.xml"), in)
	if res.Variables["Pay.Result"] != "success" || res.Variables["Pay.MaskedCard"] != "************4444" {
		t.Fatalf("pcap with INFO: %v %v", res.Reason, res.Variables["Pay.Result"])
	}
}

// TestEveryExamplePlanRuns replays each example plan of examples/plans with one typing of an
// account, a menu key and a card: no plan may end in an engine error, name a prompt the pack
// lacks, or print a card number.
func TestEveryExamplePlanRuns(t *testing.T) {
	sb := startSandbox(t)
	plans, _ := filepath.Glob(filepath.Join("..", "..", "examples", "plans", "*.xml"))
	if len(plans) < 5 {
		t.Fatalf("only %d example plans", len(plans))
	}
	in, _ := ParseDigits("12345678# W 1# W 4242424242424242# 1230 123 94107#")
	for _, p := range plans {
		t.Run(filepath.Base(p), func(t *testing.T) {
			plan := planFile(t, filepath.Base(p))
			res := replayOnce(t, sb, plan, in)
			if res.Outcome == engine.ResultError {
				t.Fatalf("engine error: %s", res.Reason)
			}
			for _, e := range res.Events {
				if e.Type == "prompt.missing" {
					t.Errorf("prompt %s is in neither the plan's directory nor the bundled pack", e.Fields)
				}
			}
		})
	}
}

// TestLinkGuard: pay-bill texts the number its billing lookup returned; a caller on another
// phone still gets the link there, but a plan texting a number the caller typed would not.
func TestLinkGuardTrustsLookedUpNumbers(t *testing.T) {
	sb := startSandbox(t)
	in, _ := ParseDigits("87654321# W 4242*") // account B: mobile +447700900456
	opts := sb.Options()
	opts.Plan, opts.From = planFile(t, "pay-bill.xml"), "+447700900999"
	res, err := Run(context.Background(), in, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Variables["Link.Result"] != "success" || res.Variables["Mobile"] != "+447700900456" {
		t.Fatalf("link to the looked-up number: %v %v", res.Variables["Link.Result"], res.Variables["Link.Error"])
	}
	plan, ds := callplan.Parse("typed.xml", []byte(`<CallPlan name="typed"><Match number="+441632960999"/>
<Connector name="provider" type="session" baseUrl="sandbox" account="a"/>
<Flow><Gather var="Mobile" minDigits="11" maxDigits="11" prompt="welcome"/>
<SendPaymentLink connector="provider" to="+$(Mobile)" amount="5" currency="GBP" var="Link"/><Hangup/></Flow></CallPlan>`), nil)
	if ds.HasErrors() {
		t.Fatal(ds.String())
	}
	in, _ = ParseDigits("44770090077")
	opts.Plan = plan
	res, err = Run(context.Background(), in, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Variables["Link.Result"] != "failed" || !strings.Contains(res.Variables["Link.Error"], "neither the caller") {
		t.Fatalf("typed number: %v %q", res.Variables["Link.Result"], res.Variables["Link.Error"])
	}
}

// TestPlanPromptDirectory: a plan's own prompts override the bundled pack, and their length is
// what the virtual clock waits.
func TestPlanPromptDirectory(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "voice"), 0o755)
	if err := audiofile.WriteWAVFile(filepath.Join(dir, "voice", "welcome.wav"), make([]int16, 3*8000), audiofile.PCM16); err != nil {
		t.Fatal(err)
	}
	planPath := filepath.Join(dir, "p.xml")
	os.WriteFile(planPath, []byte(`<CallPlan name="p"><Match number="+441632960777"/><Prompts lang="en-GB" dir="voice"/>
<Flow><Play prompt="welcome"/><Set var="After" value="1"/><Hangup/></Flow></CallPlan>`), 0o644)
	plan, ds := callplan.ParseFile(planPath, nil)
	if ds.HasErrors() {
		t.Fatal(ds.String())
	}
	in, _ := ParseDigits("")
	res, err := Run(context.Background(), in, Options{Plan: plan})
	if err != nil {
		t.Fatal(err)
	}
	var setAt float64 = -1
	for _, e := range res.Events {
		if e.Type == "step" && e.Step == "Set" {
			setAt = e.At
		}
	}
	if setAt != 3 || res.Duration != 3 {
		t.Fatalf("the plan's 3 s welcome ended at %v (call %v s)", setAt, res.Duration)
	}
}

// TestConfirmationCodeSpokenWhole: pay-bill reads the confirmation code back with every
// character, not only its digits.
func TestConfirmationCodeSpokenWhole(t *testing.T) {
	sb := startSandbox(t)
	in, _ := ParseDigits("12345678# W 4242424242424242# 1230 123")
	res := replayOnce(t, sb, planFile(t, "pay-bill.xml"), in)
	code := res.Variables["Pay.ConfirmationCode"]
	if res.Variables["Pay.Result"] != "success" || !strings.HasPrefix(code, "ch_") {
		t.Fatalf("payment: %v %q", res.Variables["Pay.Result"], code)
	}
	var spoken []string
	after := false
	for _, e := range res.Events {
		var p event.Played
		if e.Type != "play" || json.Unmarshal(e.Fields, &p) != nil {
			continue
		}
		if after {
			spoken = append(spoken, p.Prompt)
		}
		after = after || p.Prompt == "payment-accepted"
	}
	if len(spoken) != len(code) || spoken[0] != "letter-c" || spoken[1] != "letter-h" || spoken[2] != "char-underscore" {
		t.Fatalf("code %q spoken as %v", code, spoken)
	}
}

// The hold-capture example: the plan authorises, captures part with final="true" and refunds a
// goodwill amount, through the replay sandbox's lifecycle; the provider's ledger says the same.
func TestHoldCaptureExampleAgainstSandbox(t *testing.T) {
	sb := startSandbox(t)
	in, err := ParseDigits("4242424242424242# 1230 123")
	if err != nil {
		t.Fatal(err)
	}
	res := replayOnce(t, sb, planFile(t, "hold-capture.xml"), in)
	v := res.Variables
	for k, want := range map[string]string{"Pay.Result": "success", "Pay.Method": "authorize", "Cap.Result": "success",
		"Cap.Amount": "25.00", "Cap.PaymentState": "captured", "Goodwill.Result": "success", "Goodwill.Amount": "2.50",
		"Goodwill.PaymentState": "partially_refunded"} {
		if v[k] != want {
			t.Errorf("%s = %q, want %q", k, v[k], want)
		}
	}
	var found int
	for _, c := range sb.Provider.Ledger() {
		if c.SessionID != v["Pay.SessionId"] {
			continue
		}
		found++
		if c.Authorized != 3000 || c.Captured != 2500 || c.Refunded != 250 || c.Invoice == nil || len(c.Invoice.Lines) != 2 {
			t.Errorf("ledger charge %+v", c)
		}
	}
	if found != 1 {
		t.Fatalf("%d charges for the session", found)
	}
}
