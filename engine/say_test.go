package engine

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
	"github.com/paybridge/paybridge/tts"
)

// fakeSpeech renders every request as 100 ms of tone per word (a break as its pause) and
// records the requests it saw.
type fakeSpeech struct {
	mu   sync.Mutex
	reqs []tts.Request
	err  error
}

func (f *fakeSpeech) Render(ctx context.Context, req tts.Request) (*tts.Audio, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = append(f.reqs, req)
	if f.err != nil {
		return nil, f.err
	}
	if _, err := req.Normalize(); err != nil {
		return nil, err
	}
	n := 0
	for _, s := range req.Segments {
		n += 800 * len(strings.Fields(s.Text))
		n += int(s.Pause.Milliseconds()) * 8
	}
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(1000 * (i % 16))
	}
	return &tts.Audio{Samples: pcm}, nil
}

func (f *fakeSpeech) requests() []tts.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]tts.Request(nil), f.reqs...)
}

func TestSayStep(t *testing.T) {
	h := newHarness(t)
	sp := &fakeSpeech{}
	h.opts.Speech = sp
	out := h.run(`<CallPlan name="t"><Match number="+441632960000"/><Prompts lang="es-ES"/><Flow>
<Set var="Balance" value="12.50"/>
<Say>Su saldo es <say-as interpret-as="currency" currency="EUR">$(Balance)</say-as><break time="500ms"/>gracias</Say>
<Say language="en-GB" voice="en-gb" rate="140">Goodbye</Say>
<Hangup/></Flow></CallPlan>`)
	reqs := sp.requests()
	if len(reqs) != 2 {
		t.Fatalf("rendered %d requests", len(reqs))
	}
	r0 := reqs[0]
	if r0.Language != "es-ES" || len(r0.Segments) != 4 || r0.Segments[1].SayAs != tts.SayCurrency || r0.Segments[1].Text != "12.50" ||
		r0.Segments[1].Currency != "EUR" || r0.Segments[2].Pause != 500*time.Millisecond {
		t.Errorf("first request = %+v", r0)
	}
	if r1 := reqs[1]; r1.Language != "en-GB" || r1.Voice != "en-gb" || r1.Rate != 140 {
		t.Errorf("second request = %+v", r1)
	}
	said := eventsOf(out, "say")
	if len(said) != 2 {
		t.Fatalf("say events: %v", out.Events)
	}
	s0 := said[0].Data.(*event.Said)
	// "Su saldo es" (3 words) + "12.50" (1) + 500 ms + "gracias" (1) = 5×100 ms + 500 ms.
	if s0.Text != "Su saldo es 12.50 … gracias" || s0.DurationMS != 1000 || s0.Language != "es-ES" || s0.Error != "" {
		t.Errorf("said = %+v", s0)
	}
	// The speech took its length on the clock: 1 s + 0.1 s.
	if out.Duration != 1100*time.Millisecond {
		t.Errorf("call lasted %v", out.Duration)
	}
	ends := eventsOf(out, "step.end")
	if len(ends) != 4 || ends[1].Step != "Say" || ends[1].Data.(*event.StepEnded).Outcome != "played" || ends[1].Data.(*event.StepEnded).DurationMS != 1000 {
		t.Errorf("step ends: %+v", ends)
	}
}

func TestSayBargeInAndPrompts(t *testing.T) {
	h := newHarness(t)
	sp := &fakeSpeech{}
	h.opts.Speech = sp
	h.ch.press(300*time.Millisecond, "1234#")
	out := h.run(flowPlan(`<Gather var="Acct" maxDigits="8" invalidPrompt="say:That is not right">
<Say>Enter your account number then hash. Thank you very much indeed.</Say></Gather>
<Menu prompt="say:Press one" timeout="1s" attempts="1"><Choice key="1"><Hangup reason="one"/></Choice></Menu><Hangup/>`))
	if out.Variables["Acct"] != "1234" {
		t.Fatalf("Acct = %q", out.Variables["Acct"])
	}
	if b := eventsOf(out, "barge-in"); len(b) != 1 || b[0].Data.(*event.BargedIn).Prompt != "say" {
		t.Errorf("barge-in events: %+v", b)
	}
	ends := eventsOf(out, "step.end")
	if len(ends) < 1 {
		t.Fatal("no step.end")
	}
	g := ends[0].Data.(*event.StepEnded)
	if ends[0].Step != "Gather" || g.Outcome != "success" || len(g.Set) != 2 || g.Set[0] != (event.VarSet{Name: "Acct", Value: "1234"}) {
		t.Errorf("gather end = %+v", g)
	}
	m := ends[1].Data.(*event.StepEnded)
	if ends[1].Step != "Menu" || m.Outcome != "no valid key" {
		t.Errorf("menu end = %s %+v", ends[1].Step, m)
	}
	if gt := eventsOf(out, "gather"); len(gt) != 1 || gt[0].Data.(*event.Gathered).EntryMS != 800 {
		t.Errorf("gathered = %+v", gt)
	}
}

func TestSayInPayPrompts(t *testing.T) {
	h := newHarness(t)
	sp := &fakeSpeech{}
	h.opts.Speech = sp
	h.ch.press(0, "4242424242424242#W1230#W123#")
	out := h.run(flowPlan(`<Pay connector="provider" amount="1.00" currency="GBP">
<Prompt for="payment-card-number"><Say>Key the long number.</Say></Prompt>
<Prompt for="security-code" prompt="say:Three digits"/></Pay><Hangup/>`))
	if out.Variables["Pay.Result"] != "success" {
		t.Fatalf("Pay.Result = %q", out.Variables["Pay.Result"])
	}
	var texts []string
	for _, e := range eventsOf(out, "say") {
		texts = append(texts, e.Data.(*event.Said).Text)
	}
	if strings.Join(texts, "|") != "Key the long number.|Three digits" {
		t.Errorf("said %q", texts)
	}
	end := eventsOf(out, "step.end")[0].Data.(*event.StepEnded)
	if end.Outcome != "success" {
		t.Errorf("pay outcome %q", end.Outcome)
	}
	for _, v := range end.Set {
		if v.Name == "Pay.MaskedCard" && v.Value != "************4242" {
			t.Errorf("Pay.MaskedCard = %q", v.Value)
		}
	}
}

// TestSayFailureGoesOn: speech that cannot be rendered is skipped and reported; the call
// goes on. So is speech without an engine.
func TestSayFailureGoesOn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		speech Renderer
		want   string
	}{
		{"engine error", &fakeSpeech{err: fmt.Errorf("%w: down", tts.ErrEngine)}, "engine failed: down"},
		{"no engine", nil, "no text-to-speech engine configured"},
		{"bad value", &fakeSpeech{}, "is not a day of the calendar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			if tc.speech != nil {
				h.opts.Speech = tc.speech
			}
			out := h.run(flowPlan(`<Set var="D" value="2026-02-31"/><Say>Due <say-as interpret-as="date">$(D)</say-as></Say><Hangup reason="after"/>`))
			if out.Reason != "after" {
				t.Fatalf("outcome %+v", out)
			}
			said := eventsOf(out, "say")
			if len(said) != 1 || !strings.Contains(said[0].Data.(*event.Said).Error, tc.want) {
				t.Errorf("said = %+v", said)
			}
		})
	}
}

func TestCheckSpeech(t *testing.T) {
	plan := mustParse(t, `<CallPlan name="t"><Match number="+441632960000"/><Prompts lang="fr-FR"/><Flow>
<Set var="X" value="1"/>
<Say language="en-GB">Due <say-as interpret-as="date">2026-02-30</say-as>, <say-as interpret-as="currency" currency="JPY">5</say-as>
 <say-as interpret-as="digits">12a</say-as> <say-as interpret-as="cardinal">$(X)</say-as> ok <say-as interpret-as="date" format="dmy">29/02/2028</say-as></Say>
<Say>Bonjour</Say>
<Play prompt="say:Hello"/>
</Flow></CallPlan>`)
	var got []string
	for _, d := range CheckSpeech(plan) {
		got = append(got, d.String())
	}
	want := []string{
		`test.xml:3:55: say-as date: "2026-02-30" is not a day of the calendar`,
		`test.xml:3:123: say-as currency: currency "JPY" cannot be spoken in English (GBP, USD, EUR)`,
		`test.xml:4:32: say-as digits: 'a' is not a digit, '*', '#' or '+'`,
		`test.xml:5:1: unsupported language: "fr-FR" (say-as rules exist for en and es) (the plan's <Prompts lang>): give the <Say> a language`,
		`test.xml:6:19: unsupported language: "fr-FR" (say-as rules exist for en and es) (the plan's <Prompts lang>): give the <Say> a language`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("CheckSpeech:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestPrerenderSpeech(t *testing.T) {
	plan := mustParse(t, flowPlan(`<Set var="X" value="1"/><Say>Welcome</Say><Say>Welcome</Say><Say>You owe $(X)</Say>
<Gather var="G"><Say for="timeoutPrompt">Are you there?</Say></Gather>`))
	sp := &fakeSpeech{}
	n, err := PrerenderSpeech(context.Background(), plan, sp)
	if err != nil || n != 2 {
		t.Fatalf("PrerenderSpeech = %d, %v", n, err)
	}
	var texts []string
	for _, r := range sp.requests() {
		texts = append(texts, r.Segments[0].Text)
	}
	if strings.Join(texts, "|") != "Welcome|Are you there?" && strings.Join(texts, "|") != "Are you there?|Welcome" {
		t.Errorf("rendered %q", texts)
	}
	_ = callplan.Says(plan)
}

// TestStepEndedSetOnce: a step that sets a variable more than once (a Pay whose card number is
// asked for again) lists it once in its step.end, where it was first set, with its last value.
func TestStepEndedSetOnce(t *testing.T) {
	h := newHarness(t)
	h.ch.press(300*time.Millisecond, "4242424242424241# W 4242424242424242# 1228 123")
	out := h.run(flowPlan(`<Pay connector="provider" amount="12.50" currency="GBP" reference="R1"/><Hangup/>`))
	ends := eventsOf(out, "step.end")
	if len(ends) < 1 {
		t.Fatal("no step.end")
	}
	g := ends[0].Data.(*event.StepEnded)
	seen := map[string]bool{}
	for _, v := range g.Set {
		if seen[v.Name] {
			t.Errorf("%s listed twice: %+v", v.Name, g.Set)
		}
		seen[v.Name] = true
		if v.Value != out.Variables[v.Name] {
			t.Errorf("%s = %q in step.end, %q at the end", v.Name, v.Value, out.Variables[v.Name])
		}
	}
	if len(g.Set) == 0 || out.Variables["Pay.Result"] != "success" {
		t.Errorf("gather end set = %+v", g.Set)
	}
}

// TestSinkOnly: with SinkOnly the sink gets every event and the Outcome keeps none (serve's
// recorder keeps the timeline); without it both have the same events.
func TestSinkOnly(t *testing.T) {
	const plan = `<Gather var="Acct" maxDigits="4" prompt="enter-account"/><Hangup/>`
	h := newHarness(t)
	h.ch.press(300*time.Millisecond, "1234")
	out := h.run(flowPlan(plan))
	if len(out.Events) == 0 || len(out.Events) != len(h.sink) {
		t.Fatalf("collected %d events, sink got %d", len(out.Events), len(h.sink))
	}
	want := len(h.sink)
	h = newHarness(t)
	h.opts.SinkOnly = true
	h.ch.press(300*time.Millisecond, "1234")
	out = h.run(flowPlan(plan))
	if len(out.Events) != 0 || len(h.sink) != want || out.Variables["Acct"] != "1234" {
		t.Errorf("SinkOnly: collected %d events, sink got %d (want 0 and %d), Acct %q", len(out.Events), len(h.sink), want, out.Variables["Acct"])
	}
}
