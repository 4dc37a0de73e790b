package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/paybridge/paybridge/callplan"
)

// loopbackClient is the plan HTTP client of tests whose servers are httptest servers on
// loopback: the operator's allow-list names 127.0.0.0/8.
func loopbackClient(t testing.TB) *http.Client {
	t.Helper()
	d, err := NewDestinations([]string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	return d.HTTPClient()
}

// ledgerServer stands for something on loopback a plan must not reach by accident (the
// sandbox ledger, a cloud metadata endpoint): it counts the requests it serves.
func ledgerServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"content":"ledger-contents","charges":[{"last4":"4242"}]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// A 302 from an API to a loopback ledger is not followed: the step's response is the 302,
// nothing of the ledger reaches a variable, and the ledger is never asked. redirects="any"
// follows it (the control), and a same-origin redirect is followed by default.
func TestAPIRedirectToAnotherOriginNotFollowed(t *testing.T) {
	ledger, hits := ledgerServer(t)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, ledger.URL+"/sandbox/ledger", http.StatusFound)
		case "/moved":
			http.Redirect(w, r, "/here", http.StatusMovedPermanently)
		case "/here":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"content":"same-origin"}`)
		}
	}))
	defer api.Close()
	step := func(name, path, attrs string) string {
		return fmt.Sprintf(`<ApiInteraction name="%s" %s><Request><Url>$(Base)%s</Url></Request>
		  <Response><ResponseCodeDestination>%s.Status</ResponseCodeDestination>
		    <Fields><Field><Locator>content</Locator><Destination>%s.Secret</Destination></Field></Fields></Response></ApiInteraction>`,
			name, attrs, path, name, name)
	}
	h := newHarness(t)
	h.opts.HTTPClient = loopbackClient(t) // the operator allows loopback: only the redirect rule stands in the way
	out := h.run(flowPlan(sets("Base", api.URL) + step("Away", "/away", "") + step("Moved", "/moved", "") +
		step("NoneMoved", "/moved", `redirects="none"`)))
	v := out.Variables
	if v["Away.Status"] != "302" || v["Away.Secret"] != "" || !strings.Contains(v["Away.Error"], "another origin") {
		t.Errorf("cross-origin redirect: status %q secret %q error %q", v["Away.Status"], v["Away.Secret"], v["Away.Error"])
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the ledger was asked %d times", n)
	}
	if v["Moved.Status"] != "200" || v["Moved.Secret"] != "same-origin" || v["Moved.Error"] != "" {
		t.Errorf("same-origin redirect: status %q secret %q error %q", v["Moved.Status"], v["Moved.Secret"], v["Moved.Error"])
	}
	if v["NoneMoved.Status"] != "301" || v["NoneMoved.Secret"] != "" || !strings.Contains(v["NoneMoved.Error"], `redirects="none"`) {
		t.Errorf(`redirects="none": status %q secret %q error %q`, v["NoneMoved.Status"], v["NoneMoved.Secret"], v["NoneMoved.Error"])
	}

	// Control: the explicit opt-in follows the same redirect, so the check above can fail.
	h = newHarness(t)
	h.opts.HTTPClient = loopbackClient(t)
	out = h.run(flowPlan(sets("Base", api.URL) + step("Away", "/away", `redirects="any"`)))
	if out.Variables["Away.Secret"] != "ledger-contents" || hits.Load() != 1 {
		t.Fatalf(`redirects="any": secret %q, ledger hits %d`, out.Variables["Away.Secret"], hits.Load())
	}

	// Even redirects="any" stays inside the operator's allow-list: with the default list
	// (public addresses only) and the API itself reachable, the loopback hop is refused at
	// connect time.
	apiAddr := netip.MustParseAddrPort(api.Listener.Addr().String())
	d, err := NewDestinations(nil, apiAddr)
	if err != nil {
		t.Fatal(err)
	}
	h = newHarness(t)
	h.opts.HTTPClient = d.HTTPClient()
	out = h.run(flowPlan(sets("Base", api.URL) + step("Away", "/away", `redirects="any"`)))
	if out.Variables["Away.Secret"] != "" || hits.Load() != 1 || !strings.Contains(out.Variables["Away.Error"], "loopback") {
		t.Fatalf("redirect into loopback with the default list: secret %q, hits %d, error %q",
			out.Variables["Away.Secret"], hits.Load(), out.Variables["Away.Error"])
	}
}

// A URL whose host comes from an earlier response is refused before anything is sent, and
// validate reports it at the reference; untrustedHost="true" is the plan's explicit opt-in.
func TestAPIHostFromResponseRefused(t *testing.T) {
	ledger, hits := ledgerServer(t)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"next":%q}`, ledger.URL)
	}))
	defer api.Close()
	src := func(attr string) string {
		return flowPlan(sets("Base", api.URL) + `
	<ApiInteraction name="First"><Request><Url>$(Base)/start</Url></Request>
	  <Response><Fields><Field><Locator>next</Locator><Destination>Next</Destination></Field></Fields></Response></ApiInteraction>
	<Set var="Copy" value="$(Next)"/>
	<ApiInteraction name="Second" ` + attr + ` onError="refused"><Request><Url>$(Copy)/sandbox/ledger</Url></Request>
	  <Response><Fields><Field><Locator>content</Locator><Destination>Secret</Destination></Field></Fields></Response></ApiInteraction>
	<Hangup reason="sent"/>
	<Label name="refused"/><Hangup reason="refused"/>`)
	}

	// validate: an error at $(Copy), saying where its data came from.
	_, ds := callplan.Parse("test.xml", []byte(src("")), func(string) string { return "" })
	var found *callplan.Diagnostic
	for i := range ds {
		if ds[i].Code == "untrusted-host" {
			found = &ds[i]
		}
	}
	if found == nil || found.Severity != callplan.SeverityError || !strings.Contains(found.Message, "$(Copy)") ||
		!strings.Contains(found.Message, "from $(Next), which holds response data") {
		t.Fatalf("validate: %v", ds)
	}

	// The engine refuses it too, for plans that reach it without validation.
	plan, _ := callplan.Parse("test.xml", []byte(src("")), func(string) string { return "" })
	h := newHarness(t)
	h.opts.HTTPClient = loopbackClient(t)
	out, err := Run(context.Background(), plan, h.ch, RunOptions{Clock: h.clock, HTTPClient: h.opts.HTTPClient, SandboxURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if out.Reason != "refused" || out.Variables["Secret"] != "" || hits.Load() != 0 ||
		!strings.Contains(out.Variables["Second.Error"], "$(Copy)") {
		t.Fatalf("run: reason %q secret %q hits %d error %q", out.Reason, out.Variables["Secret"], hits.Load(), out.Variables["Second.Error"])
	}

	// Control: with the opt-in the plan validates and the request is sent.
	h = newHarness(t)
	h.opts.HTTPClient = loopbackClient(t)
	out = h.run(src(`untrustedHost="true"`))
	if out.Reason != "sent" || out.Variables["Secret"] != "ledger-contents" || hits.Load() != 1 {
		t.Fatalf("opt-in: reason %q secret %q hits %d", out.Reason, out.Variables["Secret"], hits.Load())
	}
}

// What decides the origin and what does not: a base URL from literal <Set>s is trusted, a
// response value in the path is escaped into it, the caller's own number is untrusted.
func TestAPIOriginTrustRules(t *testing.T) {
	cases := []struct {
		name, flow string
		refused    bool
	}{
		{"literal base", `<Set var="B" value="https://api.example.com"/><Set var="C" value="$(B)/v1"/>` + api(`$(C)/x`), false},
		{"response in the path", apiField("Id") + api(`https://api.example.com/items/$(Id)`), false},
		{"response in the query", apiField("Id") + api(`https://api.example.com/items?id=$(Id)`), false},
		{"response as the host", apiField("Host") + api(`https://$(Host)/x`), true},
		{"response as the port", apiField("Port") + api(`https://api.example.com:$(Port)/x`), true},
		{"response glued to the base", `<Set var="B" value="https://api.example.com"/>` + apiField("Tail") + api(`$(B)$(Tail)/x`), true},
		{"caller's number as host", api(`http://$(Call.From)/x`), true},
		{"gathered digits as host", `<Gather var="G" maxDigits="3" prompt="welcome"/>` + api(`http://10.0.0.$(G)/x`), true},
		{"set from a response", apiField("R") + `<Set var="B" value="https://$(R)"/>` + api(`$(B)/x`), true},
		{"sandbox", api(`$(Sandbox.Url)/ledger`), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, ds := callplan.Parse("t.xml", []byte(flowPlan(tc.flow)), func(string) string { return "" })
			got := false
			for _, d := range ds {
				got = got || d.Code == "untrusted-host"
			}
			if got != tc.refused {
				t.Fatalf("untrusted-host reported = %v, want %v:\n%s", got, tc.refused, ds)
			}
		})
	}
}

func api(url string) string {
	return `<ApiInteraction><Request><Url>` + url + `</Url></Request></ApiInteraction>`
}

func apiField(dest string) string {
	return `<ApiInteraction><Request><Url>https://lookup.example.com/</Url></Request><Response><Fields><Field><Locator>v</Locator><Destination>` +
		dest + `</Destination></Field></Fields></Response></ApiInteraction>`
}

// The operator's allow-list is checked when connecting, against the address actually dialled.
func TestDestinationsRefuseAtDial(t *testing.T) {
	ledger, hits := ledgerServer(t)
	port := ledger.Listener.Addr().(*net.TCPAddr).Port
	get := func(d *Destinations, url string) error {
		resp, err := d.HTTPClient().Get(url)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	must := func(allow ...string) *Destinations {
		d, err := NewDestinations(allow)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct {
		name  string
		allow []string
		url   string
	}{
		{"default list, loopback IP", nil, ledger.URL},
		{"a CIDR that does not cover it", []string{"10.0.0.0/8", "public"}, ledger.URL},
		// The URL names a listed host, but it resolves to loopback: the dialled address decides.
		{"listed name resolving to loopback", []string{"localhost"}, fmt.Sprintf("http://localhost:%d/", port)},
		{"IPv4-mapped IPv6 loopback", nil, fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", port)},
		{"unspecified address", nil, fmt.Sprintf("http://0.0.0.0:%d/", port)},
	} {
		err := get(must(tc.allow...), tc.url)
		if !errors.Is(err, errDestination) {
			t.Errorf("%s: %v, want ErrDestination", tc.name, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the refused server was reached %d times", n)
	}
	// Control: listing the address reaches it.
	if err := get(must("127.0.0.1/32"), ledger.URL); err != nil || hits.Load() != 1 {
		t.Fatalf("listed loopback: %v, hits %d", err, hits.Load())
	}
	// The node's own listener is always reachable.
	d, _ := NewDestinations(nil, netip.MustParseAddrPort(ledger.Listener.Addr().String()))
	if err := get(d, ledger.URL); err != nil || hits.Load() != 2 {
		t.Fatalf("always-allowed address: %v, hits %d", err, hits.Load())
	}
}

func TestDestinationsCheck(t *testing.T) {
	d, err := NewDestinations([]string{"public", "10.1.0.0/16", "fd00::5"})
	if err != nil {
		t.Fatal(err)
	}
	named, err := NewDestinations([]string{"api.example.com", "*.partner.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		d    *Destinations
		host string
		addr string
		ok   bool
	}{
		{d, "x", "93.184.216.34:443", true},
		{d, "x", "10.1.2.3:80", true},
		{d, "x", "10.2.0.1:80", false},
		{d, "x", "[fd00::5]:80", true},
		{d, "x", "[fd00::6]:80", false},
		{d, "x", "127.0.0.1:80", false},
		{d, "x", "169.254.169.254:80", false},
		{d, "x", "[fe80::1%eth0]:80", false},
		{d, "x", "100.64.0.1:80", false},
		{d, "x", "[64:ff9b::7f00:1]:80", false},
		{d, "x", "[2002:7f00:1::]:80", false},
		{d, "x", "224.0.0.1:80", false},
		{d, "x", "192.168.1.1:80", false},
		{named, "api.example.com", "93.184.216.34:443", true},
		{named, "API.example.com.", "93.184.216.34:443", true},
		{named, "other.example.com", "93.184.216.34:443", false},
		{named, "a.partner.example", "93.184.216.34:443", true},
		{named, "partner.example", "93.184.216.34:443", false},
		{named, "api.example.com", "10.0.0.1:443", false},
	} {
		err := tc.d.Check(tc.host, netip.MustParseAddrPort(tc.addr))
		if (err == nil) != tc.ok || err != nil && !errors.Is(err, errDestination) {
			t.Errorf("%s %s via %q: %v, want ok=%v", tc.host, tc.addr, tc.d, err, tc.ok)
		}
	}
	for _, bad := range []string{"10.0.0.0/33", "not a host!", "-x.example"} {
		if _, err := NewDestinations([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
