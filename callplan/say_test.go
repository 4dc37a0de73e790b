package callplan

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseSayStep(t *testing.T) {
	src := wrapFlow(`<Set var="Balance" value="12.50"/><Set var="Ref" value="ch_6dy"/>
<Say voice="en-gb+f3" language="en-GB" rate="150" bargeIn="false" loop="2">
  Your balance is <say-as interpret-as="currency" currency="GBP">$(Balance)</say-as>.
  <break time="500ms"/>
  Your code is <say-as interpret-as="spell-out">$(Ref)</say-as>, due <say-as interpret-as="date" format="dmy">22/11/2026</say-as>
  <break strength="strong"/><say-as interpret-as="telephone">0800 123</say-as>
</Say><Hangup/>`)
	p := langParse(t, src)
	s, ok := p.Flow[2].(*SayStep)
	if !ok {
		t.Fatalf("step 3 is %T", p.Flow[2])
	}
	if s.StepName() != "Say" || s.Say.Voice != "en-gb+f3" || s.Say.Language != "en-GB" || s.Say.Rate != 150 ||
		s.BargeIn == nil || *s.BargeIn || s.Loop != 2 {
		t.Errorf("step = %+v, say = %+v", s, s.Say)
	}
	want := []SayPart{
		{As: "", Text: "Your balance is"},
		{As: "currency", Text: "$(Balance)", Currency: "GBP"},
		{As: "", Text: "."},
		{As: SayAsBreak, Pause: 500 * time.Millisecond},
		{As: "", Text: "Your code is"},
		{As: "characters", Text: "$(Ref)"},
		{As: "", Text: ", due"},
		{As: "date", Text: "22/11/2026", Format: "dmy"},
		{As: SayAsBreak, Pause: 750 * time.Millisecond},
		{As: "digits", Text: "0800 123"},
	}
	got := make([]SayPart, len(s.Say.Parts))
	for i, pt := range s.Say.Parts {
		pt.Pos = Pos{}
		got[i] = pt
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parts:\n got %+v\nwant %+v", got, want)
	}
	// Positions: the text where it starts, the say-as text where it starts.
	if pos := s.Say.Parts[0].Pos; pos.Line != 3 || pos.Col != 3 {
		t.Errorf("first text at %v", pos)
	}
	if pos := s.Say.Parts[1].Pos; pos.Line != 3 || pos.Col != 66 {
		t.Errorf("say-as text at %v", pos)
	}
	if s.Say.Static() {
		t.Error("a Say with $(…) is static")
	}
	parts := s.Say.Expand(func(n string) (string, bool) { return map[string]string{"Balance": "3.10", "Ref": "xy"}[n], true })
	if parts[1].Text != "3.10" || parts[5].Text != "xy" || s.Say.Parts[1].Text != "$(Balance)" {
		t.Errorf("Expand = %+v", parts)
	}
	if got := s.Say.String(); !strings.Contains(got, "Your balance is $(Balance) . … 500ms …") {
		t.Errorf("String = %q", got)
	}
}

func TestSayWherePromptsAre(t *testing.T) {
	src := wrapFlow(`<Play prompt="say:Welcome to   $(Call.To)"/>
<Gather var="Acct" invalidPrompt="say:That is not an account number.">
  <Say>Enter your account number.</Say>
  <Say for="timeoutPrompt" language="es-ES">¿Sigue ahí?</Say>
</Gather>
<Menu prompt="menu-main"><Say>Or press 2</Say><Say for="invalidPrompt">Not a choice</Say><Choice key="1"><Hangup/></Choice></Menu>
<Pay connector="provider" amount="1.00" currency="GBP">
  <Prompt for="payment-card-number" prompt="beep"><Say>Key the long number.</Say></Prompt>
  <Prompt for="security-code" errorType="invalid-security-code" prompt="say:Three digits, please."/>
</Pay>`)
	p := langParse(t, src)
	play := p.Flow[0].(*PlayStep)
	if len(play.Prompts) != 1 || play.Prompts[0].Say == nil || play.Prompts[0].Say.Parts[0].Text != "Welcome to $(Call.To)" {
		t.Fatalf("Play prompts = %+v", play.Prompts)
	}
	g := p.Flow[1].(*GatherStep)
	if n := itemNames(g.Prompt); !reflect.DeepEqual(n, []string{"say:Enter your account number."}) {
		t.Errorf("Gather prompt = %v", n)
	}
	if n := itemNames(g.InvalidPrompt); !reflect.DeepEqual(n, []string{"say:That is not an account number."}) {
		t.Errorf("Gather invalidPrompt = %v", n)
	}
	if len(g.TimeoutPrompt) != 1 || g.TimeoutPrompt[0].Say.Language != "es-ES" {
		t.Errorf("Gather timeoutPrompt = %+v", g.TimeoutPrompt)
	}
	m := p.Flow[2].(*MenuStep)
	if n := itemNames(m.Prompt); !reflect.DeepEqual(n, []string{"menu-main", "say:Or press 2"}) || len(m.Choices) != 1 {
		t.Errorf("Menu prompt = %v, choices %d", n, len(m.Choices))
	}
	pay := p.Flow[3].(*PayStep)
	if n := itemNames(pay.PromptFor(FieldCardNumber, "", "", 1)); !reflect.DeepEqual(n, []string{"beep", "say:Key the long number."}) {
		t.Errorf("card prompt = %v", n)
	}
	if n := itemNames(pay.PromptFor(FieldSecurityCode, ErrTypeInvalidSecurityCode, "visa", 2)); !reflect.DeepEqual(n, []string{"say:Three digits, please."}) {
		t.Errorf("cvv error prompt = %v", n)
	}
	says := Says(p)
	if len(says) != 8 {
		t.Errorf("Says = %d, want 8", len(says))
	}
	// Literal prompt names are still listed for the prompt check; speech is not.
	var refs []string
	for _, r := range PromptRefs(p) {
		refs = append(refs, r.Name)
	}
	if !reflect.DeepEqual(refs, []string{"menu-main", "beep"}) {
		t.Errorf("PromptRefs = %v", refs)
	}
}

func TestSayErrors(t *testing.T) {
	for _, tc := range []struct {
		steps string
		want  string
	}{
		{`<Say><say-as interpret-as="digit">1</say-as></Say>`, `t.xml:1:130: interpret-as "digit": use digits, characters, currency, date, cardinal (did you mean "digits"?)`},
		{`<Say>Hi <emphasis>there</emphasis></Say>`, `t.xml:1:111: <Say> holds text, <say-as> and <break>, not <emphasis>`},
		{`<Say> </Say>`, `t.xml:1:103: <Say> says nothing: give it text, e.g. <Say>Thank you for calling</Say>`},
		{`<Say><say-as interpret-as="date" format="ydm">2026</say-as></Say>`, `t.xml:1:144: date format "ydm": use ymd, dmy, mdy, ym, my, md, dm (did you mean "dm"?)`},
		{`<Say><say-as interpret-as="digits" format="dmy">1</say-as></Say>`, `t.xml:1:146: format is for interpret-as="date", not "digits"`},
		{`<Say><say-as interpret-as="currency" currency="gbp">1</say-as></Say>`, `t.xml:1:150: currency "gbp" is not an ISO 4217 code (currency codes are upper case: "GBP")`},
		{`<Say><say-as interpret-as="digits"></say-as></Say>`, `t.xml:1:108: <say-as interpret-as="digits"> is empty`},
		{`<Say>a<break time="11s"/></Say>`, `t.xml:1:122: time: duration 11s out of range 0s–10s`},
		{`<Say>a<break strength="loud"/></Say>`, `t.xml:1:126: break strength "loud": use none, x-weak, weak, medium, strong, x-strong`},
		{`<Say language="english!">a</Say>`, `t.xml:1:118: language "english!" is not a BCP 47 tag such as en-GB or es-ES`},
		{`<Say voice="en gb">a</Say>`, `t.xml:1:115: voice "en gb": letters, digits, '-', '_', '+' and '.', at most 64 (e.g. en-gb or en-gb+f3)`},
		{`<Say rate="20">a</Say>`, `t.xml:1:114: rate: 20 out of range 80–450`},
		{`<Say>Your balance is $(Balanse)</Say>`, `t.xml:1:124: $(Balanse) is never set: no step assigns it and it is not a built-in`},
		{`<Gather var="A"><Say for="prompts">a</Say></Gather>`, `t.xml:1:129: for="prompts": a <Say> in <Gather> is its prompt, invalidPrompt or timeoutPrompt (did you mean "prompt"?)`},
		{`<Gather var="A"><Play prompt="x"/></Gather>`, `t.xml:1:119: <Gather> holds only <Say> elements (found <Play>)`},
		{`<Pay connector="provider"><Prompt for="payment-card-number"/></Pay>`, `t.xml:1:129: <Prompt> needs a prompt attribute or a <Say>`},
		{`<Play prompt="say:"/>`, `t.xml:1:117: prompt="say:" says nothing: write the text after say:`},
		{`<Play prompt="say:Hi $(Nme)"/>`, `t.xml:1:124: $(Nme) is never set: no step assigns it and it is not a built-in`},
		{`<say-as interpret-as="digits">1</say-as>`, `t.xml:1:103: <say-as> belongs directly inside <Say>`},
	} {
		got := langDiags(wrapFlow(tc.steps))
		found := false
		for _, g := range got {
			if g == tc.want {
				found = true
			}
		}
		if !found {
			t.Errorf("%s:\n got %q\nwant %q", tc.steps, got, tc.want)
		}
	}
}

// TestSayCardDataRefused: a card number typed into a Say is refused like anywhere else.
func TestSayCardDataRefused(t *testing.T) {
	got := strings.Join(langDiags(wrapFlow(`<Say>Your card <say-as interpret-as="digits">4242424242424242</say-as></Say>`)), "\n")
	if !strings.Contains(got, "looks like a card number") || strings.Contains(got, "4242424242424242") {
		t.Errorf("diagnostics:\n%s", got)
	}
}

// TestDurationRangeMessage: the bounds of a duration are written in full (10m, not "1" — the
// zero tails of 10m0s were once trimmed one character too far).
func TestDurationRangeMessage(t *testing.T) {
	got := strings.Join(langDiags(wrapFlow(`<Gather var="A" timeout="11m"/><Pause length="0s"/>`)), "\n")
	for _, want := range []string{"duration 11m out of range 100ms–10m", "duration 0s out of range 1ms–10m"} {
		if !strings.Contains(got, want) {
			t.Errorf("want %q in:\n%s", want, got)
		}
	}
	for d, want := range map[time.Duration]string{10 * time.Second: "10s", 10 * time.Minute: "10m", 72 * time.Hour: "72h", 90 * time.Second: "1m30s", 100 * time.Millisecond: "100ms", 0: "0s"} {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
}
