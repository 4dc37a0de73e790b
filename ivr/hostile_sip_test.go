package ivr

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/paybridge/paybridge/siptest"
)

// Regression tests for the SIP attacks of issue 10 that held: ~12,400 malformed or flooding
// datagrams, and the PROTOS c07-sip INVITE suite (4,446 INVITEs), after which the server had
// not crashed or hung and still took payments. PROTOS c07-sip is not available offline, so
// protosINVITEs generates the same classes of malformed INVITE (every field of an INVITE and
// its SDP, each replaced by each anomaly: empty, overflows up to 60 KB, format strings,
// integer edge values, control and non-UTF-8 bytes, delimiter runs, CR/LF injection), and
// floodDatagrams generates the flood (random bytes, truncations and byte mutations of valid
// messages, header bombs, bad start lines, keep-alive storms, stray responses, and bursts of
// well-formed requests). Both are seeded, so a failure names a reproducible case.

// sipAttacker fires datagrams at the server from a few UDP sockets and answers what comes back
// as a minimal UAC: ACK and BYE for a 200 to an INVITE, ACK for a final failure, 200 for a BYE.
type sipAttacker struct {
	t      *testing.T
	server *net.UDPAddr
	conns  []*net.UDPConn
	wg     sync.WaitGroup

	mu         sync.Mutex
	codes      map[int]int // responses by status code
	unparsable int         // datagrams from the server that are not SIP
	samples    []string    // the first few of them
	known      int         // datagrams that show a known limit of sipgo (knownSIPGoLimit)
	sent       int
}

func newSIPAttacker(t *testing.T, s *Server, sockets int) *sipAttacker {
	a := &sipAttacker{t: t, server: net.UDPAddrFromAddrPort(s.Addr()), codes: map[int]int{}}
	for i := 0; i < sockets; i++ {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		c.SetReadBuffer(4 << 20)
		a.conns = append(a.conns, c)
		a.wg.Add(1)
		go a.read(c)
	}
	t.Cleanup(a.close)
	return a
}

func (a *sipAttacker) close() {
	for _, c := range a.conns {
		c.Close()
	}
	a.wg.Wait()
}

func (a *sipAttacker) local(i int) *net.UDPAddr {
	return a.conns[i%len(a.conns)].LocalAddr().(*net.UDPAddr)
}

func (a *sipAttacker) send(i int, b []byte) {
	if _, err := a.conns[i%len(a.conns)].WriteToUDP(b, a.server); err == nil {
		a.mu.Lock()
		a.sent++
		a.mu.Unlock()
	}
}

func (a *sipAttacker) read(c *net.UDPConn) {
	defer a.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, _, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		a.mu.Lock()
		if code := statusCode(buf[:n]); err != nil && code > 0 {
			// A response that echoes a request's broken headers (a 400 to a request whose Via
			// was mangled): a status line is all a UAC can use, and all it needs.
			a.codes[code]++
			a.mu.Unlock()
			continue
		}
		if err != nil && knownSIPGoLimit(buf[:n]) {
			a.known++
			a.mu.Unlock()
			continue
		}
		if err != nil {
			a.unparsable++
			if len(a.samples) < 5 {
				a.samples = append(a.samples, fmt.Sprintf("%v: %q", err, buf[:min(n, 600)]))
			}
			a.mu.Unlock()
			continue
		}
		if res, ok := msg.(*sip.Response); ok {
			a.codes[res.StatusCode]++
		}
		a.mu.Unlock()
		switch m := msg.(type) {
		case *sip.Response:
			a.cleanUp(c, m)
		case *sip.Request:
			if m.Method == sip.BYE {
				c.WriteToUDP([]byte(sip.NewResponseFromRequest(m, 200, "OK", nil).String()), a.server)
			}
		}
	}
}

// knownSIPGoLimit recognises the one unparsable message the server is known to send: after an
// INVITE with CSeq 2^31−1 (the largest RFC 3261 allows), sipgo numbers the server's own
// in-dialog requests from the caller's CSeq, so its BYE carries CSeq 2^31 (docs/sip.md, known
// limits of sipgo).
func knownSIPGoLimit(b []byte) bool {
	return bytes.HasPrefix(b, []byte("BYE ")) && bytes.Contains(b, []byte("\r\nCSeq: 2147483648 BYE\r\n"))
}

// statusCode is the code of a status line "SIP/… NNN …" at the start of b (0 if none). The
// version is not checked: sipgo's stateless 400 to a request too broken for a transaction
// repeats the request's version (docs/sip.md, known limits).
func statusCode(b []byte) int {
	line, _, _ := bytes.Cut(b, []byte("\r\n"))
	f := bytes.Fields(line)
	if len(f) < 2 || !bytes.HasPrefix(f[0], []byte("SIP/")) || len(f[1]) != 3 {
		return 0
	}
	code, err := strconv.Atoi(string(f[1]))
	if err != nil || code < 100 || code > 699 {
		return 0
	}
	return code
}

// cleanUp ends what an INVITE started: ACK (and BYE) for a 2xx, ACK for a final failure.
func (a *sipAttacker) cleanUp(c *net.UDPConn, res *sip.Response) {
	cseq, from, to, callID, via := res.CSeq(), res.From(), res.To(), res.CallID(), res.Via()
	if cseq == nil || cseq.MethodName != sip.INVITE || res.StatusCode < 200 || from == nil || to == nil || callID == nil || via == nil {
		return
	}
	local := c.LocalAddr().String()
	target := "sip:" + a.server.String()
	if ct := res.Contact(); ct != nil && res.IsSuccess() {
		target = ct.Address.String()
	}
	build := func(method string, seq uint32, branch string) []byte {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s SIP/2.0\r\n", method, target)
		if branch == "" {
			fmt.Fprintf(&b, "Via: %s\r\n", via.Value()) // ACK of a failure: the INVITE's branch
		} else {
			fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=%s;rport\r\n", local, branch)
		}
		fmt.Fprintf(&b, "Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nContent-Length: 0\r\n\r\n",
			from.Value(), to.Value(), callID.Value(), seq, method)
		return []byte(b.String())
	}
	if !res.IsSuccess() {
		c.WriteToUDP(build("ACK", cseq.SeqNo, ""), a.server)
		return
	}
	c.WriteToUDP(build("ACK", cseq.SeqNo, fmt.Sprintf("z9hG4bK-ack-%d", rand.Uint64())), a.server)
	c.WriteToUDP(build("BYE", cseq.SeqNo+1, fmt.Sprintf("z9hG4bK-bye-%d", rand.Uint64())), a.server)
}

// waitAnswers waits until at least want answers came back, or until none has come for a
// second (on a loaded machine the server answers a flood late, not less), and returns the
// number of answers.
func (a *sipAttacker) waitAnswers(want int) int {
	last, quiet := -1, time.Now()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		a.mu.Lock()
		n := 0
		for _, c := range a.codes {
			n += c
		}
		a.mu.Unlock()
		if n >= want {
			return n
		}
		if n != last {
			last, quiet = n, time.Now()
		} else if time.Since(quiet) > 2*time.Second {
			return n
		}
	}
	return last
}

func (a *sipAttacker) summary() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	codes := make([]int, 0, len(a.codes))
	for c := range a.codes {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var b strings.Builder
	fmt.Fprintf(&b, "%d datagrams sent; responses:", a.sent)
	for _, c := range codes {
		fmt.Fprintf(&b, " %d×%d", a.codes[c], c)
	}
	if a.known > 0 {
		fmt.Fprintf(&b, "; %d BYE with CSeq 2^31 (known sipgo limit)", a.known)
	}
	return b.String()
}

// sipAnomalies are the values a field is replaced with, by PROTOS class.
func sipAnomalies() []string {
	var out []string
	out = append(out, "") // empty
	for _, n := range []int{128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 60000} {
		out = append(out, strings.Repeat("a", n)) // overflow
	}
	for _, d := range []string{":", "@", ";", "<", ">", "\"", "%", " ", ",", "=", "\\", "/", "?", "&"} {
		out = append(out, strings.Repeat(d, 1024)) // delimiter runs
	}
	out = append(out, // format strings
		"%s%s%s%s%s%s%s%s%s%s", "%n%n%n%n%n%n%n%n", strings.Repeat("%x", 256), "%99999999999s", "%.1024d", "%@%@%@")
	out = append(out, // integers
		"-1", "0", "-0", "65535", "65536", "2147483647", "2147483648", "-2147483649", "4294967295", "4294967296",
		"18446744073709551616", "99999999999999999999999999999999", "0x7fffffff", "1e99", "1.5", "NaN")
	out = append(out, // special characters
		"\x00", strings.Repeat("\x00", 64), strings.Repeat("\xff", 64), "\x01\x02\x03\x7f", "\x1b[2J\x1b[H",
		"\xc0\xaf", "\xed\xa0\x80", "\xef\xbb\xbf", "../../../../../../etc/passwd", "<script>alert(1)</script>", "'\"`",
		"\t", strings.Repeat("\t", 128))
	out = append(out, // SIP structure
		"sip:", "@", "<>", "<sip:>", ";tag=", "sip:a@b;lr;lr;lr;lr", "a=b;c=d;;;;", "sips:x@y", "tel:", "*")
	out = append(out, // CR/LF injection: a new header, or the end of the headers, in the middle of a field
		"\r", "\n", "x\r\nX-Injected: 1", "x\r\n\r\n", "\r\n ")
	return out
}

// inviteTemplate is the INVITE of the generated suite; each {field} is replaced.
const inviteTemplate = "{method} sip:{ruri-user}@{ruri-host} {version}\r\n" +
	"Via: SIP/2.0/{via-transport} {via-host}:{via-port};branch=z9hG4bK{via-branch};rport\r\n" +
	"From: \"{from-display}\" <sip:{from-user}@{from-host}>;tag={from-tag}\r\n" +
	"To: \"{to-display}\" <sip:{to-user}@{to-host}>\r\n" +
	"Call-ID: {call-id}@{call-id-host}\r\n" +
	"CSeq: {cseq-number} {cseq-method}\r\n" +
	"Contact: \"{contact-display}\" <sip:{contact-user}@{contact-host}:{contact-port}>\r\n" +
	"Max-Forwards: {max-forwards}\r\n" +
	"Expires: {expires}\r\n" +
	"Content-Type: {content-type}\r\n" +
	"Content-Length: {content-length}\r\n\r\n"

const sdpTemplate = "v={sdp-v}\r\n" +
	"o={sdp-o-user} {sdp-o-sessid} {sdp-o-version} {sdp-o-nettype} {sdp-o-addrtype} {sdp-o-addr}\r\n" +
	"s={sdp-s}\r\n" +
	"c={sdp-c-nettype} {sdp-c-addrtype} {sdp-c-addr}\r\n" +
	"t={sdp-t-start} {sdp-t-stop}\r\n" +
	"m={sdp-m-media} {sdp-m-port} {sdp-m-proto} {sdp-m-fmt}\r\n" +
	"a=rtpmap:{sdp-a-rtpmap}\r\n"

// inviteFields are the fields the suite mutates, with their good values (computed ones are
// filled per case).
var inviteFields = []string{
	"method", "ruri-user", "ruri-host", "version", "via-transport", "via-host", "via-port", "via-branch",
	"from-display", "from-user", "from-host", "from-tag", "to-display", "to-user", "to-host",
	"call-id", "call-id-host", "cseq-number", "cseq-method", "contact-display", "contact-user", "contact-host",
	"contact-port", "max-forwards", "expires", "content-type", "content-length",
	"sdp-v", "sdp-o-user", "sdp-o-sessid", "sdp-o-version", "sdp-o-nettype", "sdp-o-addrtype", "sdp-o-addr",
	"sdp-s", "sdp-c-nettype", "sdp-c-addrtype", "sdp-c-addr", "sdp-t-start", "sdp-t-stop",
	"sdp-m-media", "sdp-m-port", "sdp-m-proto", "sdp-m-fmt", "sdp-a-rtpmap",
}

// protosINVITE builds case n: field replaced by value (field "" = the valid INVITE).
func protosINVITE(n int, field, value string, local *net.UDPAddr) []byte {
	good := map[string]string{
		"method": "INVITE", "ruri-user": "+441632960000", "ruri-host": "127.0.0.1", "version": "SIP/2.0",
		"via-transport": "UDP", "via-host": local.IP.String(), "via-port": strconv.Itoa(local.Port),
		"via-branch": fmt.Sprintf("-protos-%d", n), "from-display": "PROTOS", "from-user": "caller",
		"from-host": "127.0.0.1", "from-tag": fmt.Sprintf("p%d", n), "to-display": "Callee", "to-user": "+441632960000",
		"to-host": "127.0.0.1", "call-id": fmt.Sprintf("protos-%d", n), "call-id-host": "127.0.0.1",
		"cseq-number": "1", "cseq-method": "INVITE", "contact-display": "PROTOS", "contact-user": "caller",
		"contact-host": local.IP.String(), "contact-port": strconv.Itoa(local.Port), "max-forwards": "70",
		"expires": "120", "content-type": "application/sdp",
		"sdp-v": "0", "sdp-o-user": "protos", "sdp-o-sessid": "1", "sdp-o-version": "1", "sdp-o-nettype": "IN",
		"sdp-o-addrtype": "IP4", "sdp-o-addr": "127.0.0.1", "sdp-s": "-", "sdp-c-nettype": "IN", "sdp-c-addrtype": "IP4",
		"sdp-c-addr": "127.0.0.1", "sdp-t-start": "0", "sdp-t-stop": "0", "sdp-m-media": "audio", "sdp-m-port": "40000",
		"sdp-m-proto": "RTP/AVP", "sdp-m-fmt": "0", "sdp-a-rtpmap": "0 PCMU/8000",
	}
	if field != "" {
		good[field] = value
	}
	fill := func(tpl string) string {
		var b strings.Builder
		for {
			i := strings.IndexByte(tpl, '{')
			if i < 0 {
				b.WriteString(tpl)
				return b.String()
			}
			j := strings.IndexByte(tpl[i:], '}')
			b.WriteString(tpl[:i])
			b.WriteString(good[tpl[i+1:i+j]])
			tpl = tpl[i+j+1:]
		}
	}
	body := fill(sdpTemplate)
	if field != "content-length" {
		good["content-length"] = strconv.Itoa(len(body))
	}
	msg := []byte(fill(inviteTemplate) + body)
	if len(msg) > 65000 {
		msg = msg[:65000]
	}
	return msg
}

// hostileRouter holds every call until it ends, except the control number, whose calls
// collect a card and report it.
func hostileRouter(control chan<- collected) Router {
	hold := holdingRouter(nil)
	collect := digitCollector(len(sippCard), control)
	return RouterFunc(func(to string) (CallHandler, bool) {
		if to == "+441632960999" {
			return collect.Route(to)
		}
		return hold.Route(to)
	})
}

// afterAttack checks that the server survived: no handler panicked, every call the attack set
// up has ended, OPTIONS is answered, and a real caller keys a whole card.
func afterAttack(t *testing.T, s *Server, logs fmt.Stringer, control <-chan collected, a *sipAttacker) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for s.ActiveCalls() > 0 && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if n := s.ActiveCalls(); n != 0 {
		t.Fatalf("%d calls still up 90 s after the attack", n)
	}
	causes := map[string]int{}
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "msg=\"call ended\"") {
			i := strings.Index(l, "cause=")
			causes[strings.Fields(l[i:])[0]]++
		}
	}
	// Calls whose 200 the attacker could not ACK (a mangled field it echoed) end by no-ack
	// after 64×T1; the rest by the attacker's BYE.
	t.Logf("calls the attack set up, by how they ended: %v", causes)
	p := newUDPProbe(t, s)
	if res := p.roundTrip(p.request("OPTIONS", "alive-after-attack", 0, ""), "alive-after-attack", 5*time.Second); !strings.HasPrefix(res, "SIP/2.0 200 ") {
		t.Fatalf("OPTIONS after the attack: %q", firstLine(res))
	}
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target: "sip:+441632960999@" + s.Addr().String(), Digits: sippCard, Timeout: 40 * time.Second,
	})
	if err != nil || !res.Answered {
		t.Fatalf("a real call after the attack: %+v %v", res, err)
	}
	select {
	case c := <-control:
		if c.digits != sippCard {
			t.Fatalf("a real call after the attack keyed %d of %d digits", len(c.digits), len(sippCard))
		}
	case <-time.After(40 * time.Second):
		t.Fatal("the real call's handler never finished")
	}
	if strings.Contains(logs.String(), "panicked") {
		t.Fatalf("a handler panicked during the attack:\n%s", grepLines(logs.String(), "panicked"))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.unparsable != 0 {
		t.Fatalf("the server sent %d datagrams that are not SIP:\n%s", a.unparsable, strings.Join(a.samples, "\n"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// pace sends the datagrams of gen with at most perSecond a second.
func pace(a *sipAttacker, msgs [][]byte, perSecond int) {
	start := time.Now()
	for i, m := range msgs {
		if due := start.Add(time.Duration(i) * time.Second / time.Duration(perSecond)); time.Until(due) > 0 {
			time.Sleep(time.Until(due))
		}
		a.send(i, m)
	}
}

// TestPROTOSClassINVITEs sends the generated c07-sip-class INVITE suite (every field × every
// anomaly) and checks the server survived it.
func TestPROTOSClassINVITEs(t *testing.T) {
	t.Parallel() // most of its time is the 64×T1 wait for un-ACKed calls
	control := make(chan collected, 1)
	s, logs := startServer(t, Config{Router: hostileRouter(control), MediaTimeout: 3 * time.Second,
		RTPPortMin: 50000, RTPPortMax: 57999})
	a := newSIPAttacker(t, s, 4)
	var msgs [][]byte
	msgs = append(msgs, protosINVITE(0, "", "", a.local(0))) // the valid INVITE the cases derive from
	n := 1
	for _, f := range inviteFields {
		for _, v := range sipAnomalies() {
			msgs = append(msgs, protosINVITE(n, f, v, a.local(n)))
			n++
		}
	}
	pace(a, msgs, 500)
	time.Sleep(2 * time.Second) // the last answers come back and are cleaned up
	t.Logf("PROTOS-class INVITEs: %d cases (%d fields × %d anomalies + the valid one); %s",
		len(msgs), len(inviteFields), len(sipAnomalies()), a.summary())
	a.mu.Lock()
	answered := 0
	for _, c := range a.codes {
		answered += c
	}
	ok200 := a.codes[200]
	a.mu.Unlock()
	if ok200 == 0 || answered < len(msgs)/2 {
		t.Fatalf("the suite did not reach the server as INVITEs: %s", a.summary())
	}
	afterAttack(t, s, logs, control, a)
}

// floodDatagrams generates the flood: n datagrams of the classes above, seeded.
func floodDatagrams(seed uint64, local func(i int) *net.UDPAddr) [][]byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	valid := func(i int, method string) []byte {
		l := local(i)
		body := ""
		if method == "INVITE" {
			body = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
		}
		to := "+441632960000"
		if method != "INVITE" && method != "OPTIONS" {
			to = "nobody"
		}
		msg := fmt.Sprintf("%s sip:%s@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bK-flood-%d;rport\r\nMax-Forwards: 70\r\n"+
			"From: <sip:flood@127.0.0.1>;tag=f%d\r\nTo: <sip:%s@127.0.0.1>\r\nCall-ID: flood-%d@127.0.0.1\r\nCSeq: 1 %s\r\n"+
			"Contact: <sip:flood@%s>\r\nUser-Agent: flood\r\n", method, to, l, i, i, to, i, method, l)
		if body != "" {
			msg += "Content-Type: application/sdp\r\n"
		}
		return []byte(msg + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
	}
	methods := []string{"INVITE", "OPTIONS", "REGISTER", "BYE", "INFO", "CANCEL", "ACK", "UPDATE", "SUBSCRIBE", "NOTIFY", "MESSAGE", "PRACK", "REFER"}
	var out [][]byte
	i := 0
	add := func(b []byte) { out = append(out, b); i++ }
	// Random bytes.
	for k := 0; k < 1000; k++ {
		b := make([]byte, 1+r.IntN(1400))
		for j := range b {
			b[j] = byte(r.UintN(256))
		}
		add(b)
	}
	// Every truncation of a valid INVITE and OPTIONS.
	for _, m := range []string{"INVITE", "OPTIONS"} {
		v := valid(i, m)
		for cut := 1; cut < len(v); cut++ {
			add(append([]byte(nil), v[:cut]...))
		}
	}
	// Byte mutations (substitute, insert, delete, duplicate a run) of valid requests.
	for k := 0; k < 3500; k++ {
		v := valid(i, methods[r.IntN(len(methods))])
		for m := 1 + r.IntN(8); m > 0 && len(v) > 2; m-- {
			p := r.IntN(len(v))
			switch r.IntN(4) {
			case 0:
				v[p] = byte(r.UintN(256))
			case 1:
				v = append(v[:p], append([]byte{byte(r.UintN(256))}, v[p:]...)...)
			case 2:
				v = append(v[:p], v[p+1:]...)
			default:
				q := min(len(v), p+1+r.IntN(32))
				v = append(v[:q], append(append([]byte(nil), v[p:q]...), v[q:]...)...)
			}
		}
		add(v)
	}
	// Header bombs.
	bomb := func(extra string) []byte {
		v := valid(i, "OPTIONS")
		k := bytes.Index(v, []byte("Content-Length"))
		return append(append(append([]byte(nil), v[:k]...), extra...), v[k:]...)
	}
	add(bomb(strings.Repeat("Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-x\r\n", 500)))
	add(bomb(strings.Repeat("X-A: b\r\n", 7000)))
	add(bomb("X-Long: " + strings.Repeat("v", 60000) + "\r\n"))
	add(bomb(strings.Repeat("Route: <sip:10.0.0.1;lr>\r\n", 1000)))
	add(bomb("Accept: " + strings.Repeat("application/sdp;q=0.5, ", 2500) + "\r\n"))
	add(bomb(strings.Repeat("Call-ID: dup@x\r\n", 100)))
	add(bomb("Content-Type: multipart/mixed;boundary=" + strings.Repeat("b", 10000) + "\r\n"))
	add(bomb("X-Fold: a\r\n" + strings.Repeat(" folded\r\n", 3000)))
	add([]byte("OPTIONS sip:" + strings.Repeat("u", 60000) + "@127.0.0.1 SIP/2.0\r\n\r\n"))
	add(valid(i, "OPTIONS")[:0])
	// Bad start lines.
	for k := 0; k < 300; k++ {
		v := valid(i, "OPTIONS")
		first := bytes.Index(v, []byte("\r\n"))
		var line string
		switch k % 10 {
		case 0:
			line = strings.Repeat(string(rune('A'+r.IntN(26))), 1+r.IntN(200)) + " sip:x@127.0.0.1 SIP/2.0"
		case 1:
			line = "OPTIONS sip:x@127.0.0.1 SIP/" + strconv.Itoa(r.IntN(10)) + "." + strconv.Itoa(r.IntN(10))
		case 2:
			line = "OPTIONS sip:x@127.0.0.1"
		case 3:
			line = "OPTIONS  sip:x@127.0.0.1   SIP/2.0"
		case 4:
			line = "options sip:x@127.0.0.1 sip/2.0"
		case 5:
			line = "OPTIONS\tsip:x@127.0.0.1\tSIP/2.0"
		case 6:
			line = "OPTIONS sip:x@127.0.0.1 SIP/2.0\x00garbage"
		case 7:
			line = "SIP/2.0 " + strconv.Itoa(r.IntN(1000)) + " Whatever"
		case 8:
			line = "OPTIONS " + strings.Repeat("<", 1+r.IntN(50)) + " SIP/2.0"
		default:
			line = ""
		}
		add(append([]byte(line), v[first:]...))
	}
	// Keep-alive and NUL storms.
	for k := 0; k < 500; k++ {
		add([]byte([]string{"\r\n\r\n", "\r\n", "\x00\x00\x00\x00", "\n", " "}[k%5]))
	}
	// Stray responses to transactions that never existed.
	for k := 0; k < 500; k++ {
		code := []int{100, 180, 183, 200, 401, 486, 500, 603}[k%8]
		add([]byte(fmt.Sprintf("SIP/2.0 %d X\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-stray-%d\r\nFrom: <sip:a@b>;tag=1\r\n"+
			"To: <sip:c@d>;tag=2\r\nCall-ID: stray-%d\r\nCSeq: %d INVITE\r\nContent-Length: 0\r\n\r\n", code, k, k, k)))
	}
	// Bursts of well-formed requests: what a flooding client or a scanner's sweep sends.
	for len(out) < 12400 {
		add(valid(i, methods[r.IntN(len(methods))]))
	}
	return out
}

// TestMalformedAndFloodingDatagrams throws ~12,400 generated datagrams at a server with the
// rate limit off (every one reaches the parser) and checks it survived.
func TestMalformedAndFloodingDatagrams(t *testing.T) {
	t.Parallel()
	control := make(chan collected, 1)
	s, logs := startServer(t, Config{Router: hostileRouter(control), MediaTimeout: 3 * time.Second,
		RTPPortMin: 50000, RTPPortMax: 57999})
	a := newSIPAttacker(t, s, 8)
	msgs := floodDatagrams(20261201, a.local)
	pace(a, msgs, 2500)
	answered := a.waitAnswers(1000)
	t.Logf("flood: %d generated datagrams; %s", len(msgs), a.summary())
	if answered < 1000 {
		t.Fatalf("the flood did not reach the server: %s", a.summary())
	}
	afterAttack(t, s, logs, control, a)
}
