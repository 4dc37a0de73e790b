package engine

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/event"
)

const planHead = `<CallPlan name="t"><Match number="+441632960000"/>
<Connector name="provider" type="session" baseUrl="sandbox" account="acc"/>
<Flow>`
const planTail = `</Flow></CallPlan>`

func flowPlan(steps string) string { return planHead + steps + planTail }

func TestGatherAndBargeIn(t *testing.T) {
	h := newHarness(t)
	h.ch.promptDur["enter-account"] = 5 * time.Second
	h.ch.press(1500*time.Millisecond, "12345678#") // during the 5 s prompt: barge-in
	out := h.run(flowPlan(`<Gather var="Account" minDigits="8" maxDigits="8" prompt="enter-account"/><Hangup reason="done"/>`))
	if out.Result != ResultHangup || out.Reason != "done" {
		t.Fatalf("result %s %s", out.Result, out.Reason)
	}
	if out.Variables["Account"] != "12345678" || out.Variables["Account.Result"] != "success" {
		t.Fatalf("Account = %q (%s)", out.Variables["Account"], out.Variables["Account.Result"])
	}
	if len(eventsOf(out, "barge-in")) != 1 {
		t.Fatalf("no barge-in event: %v", out.Events)
	}
	// 8 keys at 200 ms from 1.5 s; the last key completes the entry at maxDigits.
	if got := out.Duration; got != 1500*time.Millisecond+7*200*time.Millisecond {
		t.Fatalf("call lasted %v on the virtual clock", got)
	}
	if h.ch.hangup != "done" {
		t.Fatalf("channel hung up with %q", h.ch.hangup)
	}
}

func TestGatherTable(t *testing.T) {
	for _, tc := range []struct {
		name, attrs, keys string
		want, result      string
		prompts           string // substring of the prompts played
	}{
		{"finish key", `minDigits="1" maxDigits="10"`, "123#", "123", "success", ""},
		{"timeout ends entry", `minDigits="1" maxDigits="10" timeout="2s"`, "42", "42", "success", ""},
		{"too short then ok", `minDigits="4" maxDigits="4" attempts="2"`, "12#Ww1234", "1234", "success", "gather-invalid"},
		{"no key at all", `attempts="2" timeout="1s"`, "", "", "timeout", "gather-timeout"},
		{"pattern", `maxDigits="4" pattern="[0-4]+" attempts="2" invalidPrompt="try-again"`, "99#Ww0123", "0123", "success", "try-again"},
		{"pattern fails twice", `maxDigits="4" pattern="[0-4]+" attempts="2"`, "99#WWW99#", "", "invalid", ""},
		{"no finish key", `finishOnKey="" maxDigits="3"`, "1#2", "1#2", "success", ""},
		{"a card number is refused", `maxDigits="20" attempts="2"`, "4242424242424242# WWW 1234#", "1234", "success", "gather-invalid"},
		{"a non-card long number is kept", `maxDigits="20"`, "1234567890123456#", "1234567890123456", "success", ""},
		{"first digit timeout", `firstDigitTimeout="1s" timeout="9s" attempts="1"`, "WWw1#", "", "timeout", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.ch.press(0, tc.keys)
			h.ch.hangupAt(60 * time.Second)
			out := h.run(flowPlan(`<Gather var="G" prompt="welcome" ` + tc.attrs + `/><Hangup/>`))
			if out.Variables["G"] != tc.want || out.Variables["G.Result"] != tc.result {
				t.Fatalf("G = %q (%s), want %q (%s); played %s", out.Variables["G"], out.Variables["G.Result"], tc.want, tc.result, h.ch.playedList())
			}
			if !strings.Contains(h.ch.playedList(), tc.prompts) {
				t.Fatalf("played %s, want %s", h.ch.playedList(), tc.prompts)
			}
		})
	}
}

func TestMenuChoiceInvalidAndTimeout(t *testing.T) {
	plan := flowPlan(`<Menu var="M" prompt="main-menu" timeout="2s" attempts="3">
	  <Choice key="1"><Set var="Picked" value="pay"/></Choice>
	  <Choice key="2"><Transfer to="sip:agent@example.com"/></Choice>
	</Menu><Set var="After" value="yes"/><Hangup/>`)

	h := newHarness(t)
	h.ch.press(0, "9WWWW1") // invalid, then (after the invalid prompt) 1
	out := h.run(plan)
	if out.Variables["Picked"] != "pay" || out.Variables["M"] != "1" || out.Variables["After"] != "yes" {
		t.Fatalf("vars %v; played %s", out.Variables, h.ch.playedList())
	}
	if !strings.Contains(h.ch.playedList(), "menu-invalid") {
		t.Fatalf("played %s", h.ch.playedList())
	}

	h = newHarness(t)
	h.ch.press(0, "2")
	out = h.run(plan)
	if out.Result != ResultTransferred || out.Reason != "sip:agent@example.com" || h.ch.transferTo != "sip:agent@example.com" {
		t.Fatalf("transfer: %s %s", out.Result, out.Reason)
	}
	if _, ok := out.Variables["After"]; ok {
		t.Fatal("flow went on after a transfer")
	}

	h = newHarness(t)
	h.ch.hangupAt(time.Minute)
	out = h.run(plan)
	if out.Variables["M"] != "" || out.Variables["After"] != "yes" || strings.Count(h.ch.playedList(), "menu-timeout") != 3 {
		t.Fatalf("timeouts: %v played %s", out.Variables, h.ch.playedList())
	}
}

func TestBranchesAndVariables(t *testing.T) {
	h := newHarness(t)
	out := h.run(flowPlan(`
	<Set var="A" value="12.50"/>
	<Set var="Who" value="$(Call.From)"/>
	<If test="$(A) &gt; 100"><Set var="Band" value="high"/>
	  <ElseIf test="$(A) &gt;= 10"><Set var="Band" value="mid"/></ElseIf>
	  <Else><Set var="Band" value="low"/></Else>
	</If>
	<Switch value="$(Band)">
	  <Case is="low high"><Set var="S" value="edge"/></Case>
	  <Case is="mid"><Set var="S" value="middle"/></Case>
	  <Default><Set var="S" value="none"/></Default>
	</Switch>
	<SayAmount value="$(A)" currency="GBP"/>
	<SayDigits value="905"/>`))
	if out.Result != ResultCompleted || out.Variables["Band"] != "mid" || out.Variables["S"] != "middle" || out.Variables["Who"] != "+447700900123" {
		t.Fatalf("%s %v", out.Result, out.Variables)
	}
	want := "num-12 currency-GBP-major and num-50 currency-GBP-minor digit-9 digit-0 digit-5"
	if h.ch.playedList() != want {
		t.Fatalf("played %q, want %q", h.ch.playedList(), want)
	}
	if h.ch.hangup != ResultCompleted {
		t.Fatalf("engine did not hang up a completed call: %q", h.ch.hangup)
	}
	if out.Variables["Call.Id"] != "call-1" || out.Variables["Call.StartedAt"] != "2026-11-22T10:00:00Z" {
		t.Fatalf("built-ins: %v", out.Variables)
	}
}

func TestGotoLoopGuard(t *testing.T) {
	h := newHarness(t)
	h.opts.MaxSteps = 50
	out := h.run(flowPlan(`<Label name="top"/><Set var="X" value="1"/><Goto label="top"/>`))
	if out.Result != ResultError || !strings.Contains(out.Reason, "step limit") || out.Steps != 51 {
		t.Fatalf("%s %q steps %d", out.Result, out.Reason, out.Steps)
	}
	if h.ch.hangup != "error" {
		t.Fatalf("hung up with %q", h.ch.hangup)
	}
}

func TestGotoRetryLoop(t *testing.T) {
	h := newHarness(t)
	h.ch.press(0, "1#WWW2#")
	out := h.run(flowPlan(`<Label name="again"/>
	<Gather var="K" maxDigits="1" prompt="welcome" attempts="1"/>
	<If test="$(K) != 2"><Goto label="again"/></If>
	<Hangup reason="got-two"/>`))
	if out.Reason != "got-two" || out.Variables["K"] != "2" {
		t.Fatalf("%s %v", out.Reason, out.Variables)
	}
}

func TestCallerHangsUpDuringPlay(t *testing.T) {
	h := newHarness(t)
	h.ch.promptDur["welcome"] = 10 * time.Second
	h.ch.hangupAt(3 * time.Second)
	out := h.run(flowPlan(`<Play prompt="welcome"/><Set var="Never" value="1"/>`))
	if out.Result != ResultCallerHungUp || out.Duration != 3*time.Second {
		t.Fatalf("%s after %v", out.Result, out.Duration)
	}
	if _, ok := out.Variables["Never"]; ok {
		t.Fatal("flow went on after the caller hung up")
	}
}

func TestPlayWithoutBargeInKeepsTypeAhead(t *testing.T) {
	h := newHarness(t)
	h.ch.press(200*time.Millisecond, "7")
	out := h.run(flowPlan(`<Play prompt="welcome" bargeIn="false"/><Play prompt="goodbye"/><Gather var="G" maxDigits="1" prompt="enter-account"/>`))
	// welcome plays fully; goodbye is interrupted at once by the queued key (next step takes input).
	if out.Variables["G"] != "7" || h.ch.playedList() != "welcome" {
		t.Fatalf("G=%q played %q", out.Variables["G"], h.ch.playedList())
	}
}

func TestMissingPromptIsSkipped(t *testing.T) {
	h := newHarness(t)
	out := h.run(flowPlan(`<Play prompt="missing-prompt welcome"/><Pause length="2s"/>`))
	if out.Result != ResultCompleted || out.Duration != 3*time.Second {
		t.Fatalf("%s %v", out.Result, out.Duration)
	}
	if m := eventsOf(out, "prompt.missing"); len(m) != 1 || m[0].Data.(*event.PromptMissing).Prompt != "missing-prompt" {
		t.Fatalf("prompt.missing events: %v", m)
	}
}

func TestAPIInteraction(t *testing.T) {
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/accounts") {
			gotAuth = r.Header.Get("Authorization")
		}
		switch {
		case strings.HasPrefix(r.URL.Path, "/slow"):
			time.Sleep(300 * time.Millisecond)
		case strings.HasPrefix(r.URL.Path, "/xml"):
			w.Header().Set("Content-Type", "application/xml")
			fmt.Fprint(w, `<r><session id="s-9"><state>open</state></session></r>`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		fmt.Fprint(w, `{"balance":{"amount":"12.34"},"items":[{"id":"a"},{"id":"b"}],"ok":"yes"}`)
	}))
	defer srv.Close()

	h := newHarness(t)
	h.opts.HTTPClient = loopbackClient(t)
	out := h.run(flowPlan(sets("Base", srv.URL, "Acct", "12/34 x", "Tok", "t0k", "Name", "Ann") + `
	<ApiInteraction name="Lookup">
	  <Request><Url>$(Base)/accounts/$(Acct)/balance?q=$(Name)</Url><Method>POST</Method>
	    <Headers><Header><Key>Authorization</Key><Value>Bearer $(Tok)</Value></Header>
	             <Header><Key>Content-Type</Key><Value>application/json</Value></Header></Headers>
	    <Body>{"name":"$(Name)"}</Body></Request>
	  <Response><Type>JSON</Type><ResponseCodeDestination>Status</ResponseCodeDestination>
	    <Fields><Field><Locator>balance.amount</Locator><Destination>Amount</Destination><DataType>Decimal</DataType></Field>
	            <Field><Locator>items[1].id</Locator><Destination>Second</Destination><DataType>String</DataType></Field>
	            <Field><Locator>ok</Locator><Destination>Ok</Destination><DataType>Boolean</DataType></Field>
	            <Field><Locator>nothere</Locator><Destination>Gone</Destination><DataType>String</DataType></Field></Fields></Response>
	</ApiInteraction>
	<ApiInteraction><Request><Url>$(Base)/xml</Url></Request>
	  <Response><Type>XML</Type><ResponseCodeDestination>XStatus</ResponseCodeDestination>
	    <Fields><Field><Locator>r/session/@id</Locator><Destination>Sid</Destination><DataType>String</DataType></Field>
	            <Field><Locator>r/session/state</Locator><Destination>State</Destination><DataType>String</DataType></Field></Fields></Response>
	</ApiInteraction>
	<ApiInteraction name="Slow" timeout="100ms" onError="failed">
	  <Request><Url>$(Base)/slow</Url></Request>
	  <Response><ResponseCodeDestination>SlowStatus</ResponseCodeDestination></Response>
	</ApiInteraction>
	<Set var="NotReached" value="1"/>
	<Label name="failed"/>
	<ApiInteraction name="Down" onError="down">
	  <Request><Url>http://127.0.0.1:1/x</Url></Request>
	  <Response><ResponseCodeDestination>DownStatus</ResponseCodeDestination></Response>
	</ApiInteraction>
	<Hangup reason="no-jump"/>
	<Label name="down"/><Hangup reason="down"/>`))
	v := out.Variables
	if v["Status"] != "201" || v["Amount"] != "12.34" || v["Second"] != "b" || v["Ok"] != "true" || v["Gone"] != "" {
		t.Fatalf("json fields: %v", v)
	}
	if gotAuth != "Bearer t0k" {
		t.Errorf("auth header %q", gotAuth)
	}
	if v["XStatus"] != "200" || v["Sid"] != "s-9" || v["State"] != "open" {
		t.Fatalf("xml fields: %v", v)
	}
	if v["SlowStatus"] != "" || !strings.Contains(v["Slow.Error"], "timed out") {
		t.Fatalf("timeout: %q %q", v["SlowStatus"], v["Slow.Error"])
	}
	if _, ok := v["NotReached"]; ok {
		t.Fatal("onError did not jump")
	}
	if out.Reason != "down" || v["DownStatus"] != "" {
		t.Fatalf("no-response route: %s %v", out.Reason, v["DownStatus"])
	}
}

func TestAPIInteractionEscaping(t *testing.T) {
	var gotPath, gotQuery, gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotPath, gotQuery = r.URL.EscapedPath(), r.URL.RawQuery
		b := make([]byte, 512)
		n, _ := r.Body.Read(b)
		gotBody = string(b[:n])
	}))
	defer srv.Close()
	h := newHarness(t)
	h.opts.HTTPClient = loopbackClient(t)
	out := h.run(flowPlan(sets("Base", srv.URL, "Acct", "12/34 x", "Name", `Ann &quot;Q&quot; &amp; co`, "Bad", "a&#13;&#10;X-Evil: 1") + `
	<ApiInteraction name="A"><Request><Url>$(Base)/a/$(Acct)?n=$(Name)</Url><Method>POST</Method>
	  <Headers><Header><Key>Content-Type</Key><Value>application/json</Value></Header></Headers>
	  <Body>{"name":"$(Name)"}</Body></Request><Response><ResponseCodeDestination>S</ResponseCodeDestination></Response></ApiInteraction>
	<ApiInteraction name="B" onError="refused"><Request><Url>$(Base)/b</Url>
	  <Headers><Header><Key>X-Note</Key><Value>$(Bad)</Value></Header></Headers></Request>
	  <Response><ResponseCodeDestination>S2</ResponseCodeDestination></Response></ApiInteraction>
	<Hangup reason="sent"/><Label name="refused"/><Hangup reason="refused"/>`))
	if gotPath != "/a/12%2F34%20x" || gotQuery != "n=Ann+%22Q%22+%26+co" || gotBody != `{"name":"Ann \"Q\" & co"}` {
		t.Fatalf("path %q query %q body %q", gotPath, gotQuery, gotBody)
	}
	if out.Variables["S"] != "200" || out.Reason != "refused" {
		t.Fatalf("header injection not refused: %s %v", out.Reason, out.Variables)
	}
}

// sets returns <Set> steps for name/value pairs (values are XML attribute text).
func sets(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&b, `<Set var="%s" value="%s"/>`, kv[i], kv[i+1])
	}
	return b.String()
}

func TestLookedUpValuesAreTrustedNumbers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"customer":{"mobile":"+447700900456"}}`)
	}))
	defer srv.Close()
	h := newHarness(t)
	h.opts.HTTPClient = loopbackClient(t)
	links := &fakeLinks{}
	h.links = links
	h.run(flowPlan(sets("Base", srv.URL, "Typed", "+15550001111") + `
	<ApiInteraction name="L"><Request><Url>$(Base)/c</Url></Request>
	  <Response><Fields><Field><Locator>customer.mobile</Locator><Destination>Mobile</Destination></Field></Fields></Response></ApiInteraction>
	<SendPaymentLink connector="provider" to="$(Mobile)" amount="1" currency="GBP"/>`))
	if strings.Join(links.trusted, ",") != "+447700900456" {
		t.Fatalf("trusted values %v", links.trusted)
	}
}

// A finish key pressed right after an entry completed itself at maxDigits is habit: it must
// not end (or fail) the next input.
func TestFinishKeyAfterMaxDigitsIsHabit(t *testing.T) {
	h := newHarness(t)
	h.ch.press(0, "1234# 56#")
	out := h.run(flowPlan(`<Gather var="A" maxDigits="4" prompt="welcome"/><Gather var="B" minDigits="1" prompt="welcome"/><Hangup/>`))
	if out.Variables["A"] != "1234" || out.Variables["B"] != "56" || out.Variables["B.Result"] != "success" {
		t.Fatalf("A=%q B=%q (%s)", out.Variables["A"], out.Variables["B"], out.Variables["B.Result"])
	}

	// The same into Pay: the account's '#' does not cost a card attempt.
	h = newHarness(t)
	h.ch.press(0, "12345678# W 4242424242424242# 1228 123")
	out = h.run(flowPlan(`<Gather var="Account" minDigits="8" maxDigits="8" prompt="enter-account"/>
	<Pay connector="provider" amount="1" currency="GBP"/><Hangup/>`))
	if out.Variables["Pay.Result"] != "success" || out.Variables["Pay.Attempts"] != "3" {
		t.Fatalf("Pay %s after %s attempts", out.Variables["Pay.Result"], out.Variables["Pay.Attempts"])
	}

	// Only the very next key, and only soon: a '#' long after is input again.
	h = newHarness(t)
	h.ch.press(0, "1234 WWWWWWWW #")
	out = h.run(flowPlan(`<Gather var="A" maxDigits="4" timeout="2s" prompt="welcome"/>
	<Menu var="M" prompt="main-menu" timeout="20s"><Choice key="#"><Set var="Hash" value="yes"/></Choice></Menu><Hangup/>`))
	if out.Variables["Hash"] != "yes" {
		t.Fatalf("a late '#' was dropped: %v", out.Variables)
	}
}

func TestPromptNamesFromVariables(t *testing.T) {
	h := newHarness(t)
	h.run(flowPlan(`<Set var="Greeting" value="welcome  goodbye"/><Set var="None" value=""/><Play prompt="$(Greeting) $(None) try-again"/>`))
	if got := h.ch.playedList(); got != "welcome goodbye try-again" {
		t.Fatalf("played %q", got)
	}
}

// TestSayCharactersSpeaksCodes: a confirmation code is spoken character by character — its
// letters and separators too, which SayDigits skips (callers heard only "6 4 7" of
// "ch_6dytxlsw4w52duz3").
func TestSayCharactersSpeaksCodes(t *testing.T) {
	h := newHarness(t)
	h.run(flowPlan(`<Set var="Code" value="Ch_6d-Y.1 x"/><SayCharacters value="$(Code)"/><SayDigits value="$(Code)"/>`))
	want := "letter-c letter-h char-underscore digit-6 letter-d char-dash letter-y char-dot digit-1 letter-x digit-6 digit-1"
	if got := h.ch.playedList(); !strings.Contains(got, want) {
		t.Fatalf("played %s, want %s", got, want)
	}
	if _, ds := callplan.Parse("p.xml", []byte(flowPlan(`<SayCharacters value="ab/c"/>`)), nil); !strings.Contains(ds.String(), `"/" cannot be spoken`) {
		t.Fatalf("diagnostics %s", ds)
	}
}
