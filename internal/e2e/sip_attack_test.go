package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/audiofile"
	"github.com/paybridge/paybridge/loadtest/pcapgen"
)

// apiGet fetches an admin API path of the node and decodes its JSON into out.
func (n *sipNode) apiGet(t *testing.T, path string, out any) {
	t.Helper()
	req, _ := http.NewRequest("GET", n.http+path, nil)
	req.Header.Set("Authorization", "Bearer "+sipE2EAdminToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, res.StatusCode, body)
	}
	if s, ok := out.(*string); ok {
		*s = string(body)
		return
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// metric reads one unlabelled counter or gauge from /metrics (0 when absent).
func (n *sipNode) metric(t *testing.T, name string) float64 {
	t.Helper()
	var text string
	n.apiGet(t, "/metrics", &text)
	m := regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(name)+`(?:\{[^}]*\})? (\S+)$`).FindAllStringSubmatch(text, -1)
	total := 0.0
	for _, row := range m {
		v, _ := strconv.ParseFloat(row[1], 64)
		total += v
	}
	return total
}

type apiCall struct {
	ID         string `json:"id"`
	State      string `json:"state"`
	RTPForeign int64  `json:"rtp_foreign"`
}

// waitCall waits for the node's only call to reach state ("answered", "ended").
func (n *sipNode) waitCall(t *testing.T, state string, within time.Duration) apiCall {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var page struct {
			Items []apiCall `json:"items"`
		}
		n.apiGet(t, "/api/calls", &page)
		if len(page.Items) == 1 && page.Items[0].State == state {
			return page.Items[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call %s within %v: %+v\n%s", state, within, page.Items, n.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSIPE2EInjectedKeysCannotPay is the RTP Bleed attack against the built binary: a caller
// dials the paying plan and keys nothing; an injector on another port of the same host sprays
// the whole card, as RFC 4733 events, at every media port of the node's range. Before the fix
// its keys reached the Pay step (and, with the caller's SSRC, the card was charged). Now no key
// may arrive, nothing is paid, the injector hears nothing, and the attack shows in the call
// record and in /metrics.
func TestSIPE2EInjectedKeysCannotPay(t *testing.T) {
	const base = 43400
	n := startSIPNode(t, base)
	caller := exec.Command(sipPaybridge(t), "call", "sip:+441632960777@"+n.sip, "--from", "+447700900123", "--timeout", "15s")
	var callerOut strings.Builder
	caller.Stdout, caller.Stderr = &callerOut, &callerOut
	if err := caller.Start(); err != nil {
		t.Fatal(err)
	}
	defer caller.Process.Kill()
	n.waitCall(t, "answered", 20*time.Second)
	time.Sleep(time.Second) // the caller's stream is up

	inj, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer inj.Close()
	var heard atomic.Int64
	go func() {
		buf := make([]byte, 2048)
		for {
			n, src, err := inj.ReadFromUDP(buf)
			if err != nil {
				return
			}
			if n >= 12 && buf[0]>>6 == 2 && src.Port >= base && src.Port < base+100 {
				heard.Add(1)
			}
		}
	}()
	sent := 0
	ssrc, seq, ts := uint32(0x5eed), uint16(1000), uint32(160000)
	snd := dtmf.NewSender(8000)
	for _, k := range sipPayKeys {
		d, _ := dtmf.ParseDigit(byte(k))
		pkts, _ := snd.Packets(d, ts, 100*time.Millisecond, 20*time.Millisecond)
		down := time.Now()
		for _, pk := range pkts {
			time.Sleep(time.Until(down.Add(pk.Offset)))
			b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, Marker: pk.Marker, SequenceNumber: seq,
				Timestamp: pk.Timestamp, SSRC: ssrc}, Payload: pk.Payload}).Marshal()
			seq++
			for port := base; port < base+100; port += 2 {
				if _, err := inj.WriteToUDP(b, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err == nil {
					sent++
				}
			}
		}
		ts += 1600
		time.Sleep(100 * time.Millisecond)
	}
	if err := caller.Wait(); err != nil && !strings.Contains(callerOut.String(), `"answered": true`) {
		t.Logf("paybridge call: %v\n%s", err, callerOut.String())
	}
	c := n.waitCall(t, "ended", 30*time.Second)
	digits := n.metric(t, "paybridge_dtmf_digits_total")
	foreign := n.metric(t, "paybridge_rtp_packets_foreign_total")
	// The Pay step opened its session; no card may have reached it, no charge the provider.
	var payments struct {
		Items []struct {
			Result     string `json:"result"`
			MaskedCard string `json:"masked_card"`
		} `json:"items"`
	}
	n.apiGet(t, "/api/payments", &payments)
	t.Logf("injector: %d datagrams sprayed over %d ports; keypresses the node counted %v; payment sessions %+v; "+
		"RTP the injector received %d; call record rtp_foreign %d; paybridge_rtp_packets_foreign_total %v",
		sent, 50, digits, payments.Items, heard.Load(), c.RTPForeign, foreign)
	if digits != 0 {
		t.Errorf("the injector keyed %v digits into the call", digits)
	}
	for _, p := range payments.Items {
		if p.Result == "success" || p.MaskedCard != "" {
			t.Errorf("injected keys reached the payment: %+v", p)
		}
	}
	if res := n.payResults(t); len(res) > 0 && res[0] == "success" {
		t.Errorf("Pay.Result %v from injected keys", res)
	}
	if heard.Load() != 0 {
		t.Errorf("the node sent %d RTP packets to the injector", heard.Load())
	}
	if c.RTPForeign == 0 || foreign == 0 || float64(c.RTPForeign) != foreign {
		t.Errorf("the attack is not visible: call record rtp_foreign %d, metric %v", c.RTPForeign, foreign)
	}
	var detail struct {
		Call     apiCall           `json:"call"`
		Timeline []json.RawMessage `json:"timeline"`
	}
	n.apiGet(t, "/api/calls/"+c.ID, &detail)
	if t.Failed() {
		for _, e := range detail.Timeline {
			t.Logf("timeline: %s", e)
		}
	}
	if detail.Call.RTPForeign != c.RTPForeign {
		t.Errorf("GET /api/calls/%s rtp_foreign %d, list says %d", c.ID, detail.Call.RTPForeign, c.RTPForeign)
	}
}

// TestSIPE2ERecordWritesMaskedRecordings: `serve --record` with a data directory that has no
// recordings/ yet. A paying call keyed in-band must leave DATA/recordings/<call>.wav, and
// multimon-ng must find none of the keys in it (while it finds them in the same tones
// unmasked: the control).
func TestSIPE2ERecordWritesMaskedRecordings(t *testing.T) {
	sipTool(t, "multimon-ng")
	sipTool(t, "sox")
	n := startSIPNode(t, 43600, "--record")
	out, err := exec.Command(sipPaybridge(t), "call", "sip:+441632960777@"+n.sip, "--from", "+447700900123",
		"--dtmf", "inband", "--digits", sipPayKeys, "--timeout", "60s").CombinedOutput()
	if err != nil {
		t.Fatalf("paybridge call: %v\n%s", err, out)
	}
	if res := n.waitPaid(t, 1); len(res) != 1 || res[0] != "success" {
		t.Fatalf("Pay results %v, want one success\n%s", res, n.out)
	}
	c := n.waitCall(t, "ended", 30*time.Second)
	if strings.Contains(n.out.String(), "recording not started") {
		t.Fatalf("serve could not record:\n%s", n.out)
	}
	rec := filepath.Join(n.data, "recordings", c.ID+".wav")
	info, err := os.Stat(rec)
	if err != nil {
		entries, _ := os.ReadDir(filepath.Join(n.data, "recordings"))
		t.Fatalf("no recording for call %s: %v (recordings/: %v)", c.ID, err, entries)
	}
	if dir, _ := os.Stat(filepath.Dir(rec)); dir.Mode().Perm() != 0o700 {
		t.Errorf("recordings/ mode %v, want 0700", dir.Mode().Perm())
	}
	// The card takes ~6 s to key in-band; the recording covers the call.
	if info.Size() < 44+2*8000*5 {
		t.Fatalf("recording %s is %d bytes: shorter than the keying", rec, info.Size())
	}
	if keys := multimonKeys(t, rec); keys != "" {
		t.Fatalf("multimon-ng recovered %d keys from the masked recording", len(keys))
	}
	control := filepath.Join(t.TempDir(), "control.wav")
	ulaw := pcapgen.InbandULaw(sipPayKeys, pcapgen.Options{})
	pcm := make([]int16, len(ulaw))
	dtmf.DecodeULaw(pcm, ulaw)
	if err := audiofile.WriteWAVFile(control, pcm, audiofile.PCM16); err != nil {
		t.Fatal(err)
	}
	if keys := multimonKeys(t, control); len(keys) < len(sipPayKeys)-2 {
		t.Fatalf("control: multimon-ng found %d of %d keys in the unmasked tones", len(keys), len(sipPayKeys))
	}
	sipAssertNoPAN(t, "paybridge serve output", n.out.String())
}

// multimonKeys runs multimon-ng's DTMF decoder over a WAV file.
func multimonKeys(t *testing.T, wav string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, sipTool(t, "multimon-ng"), "-q", "-c", "-a", "DTMF", "-t", "wav", wav).CombinedOutput()
	if err != nil {
		t.Fatalf("multimon-ng: %v\n%s", err, out)
	}
	var keys strings.Builder
	for _, line := range strings.Split(string(out), "\n") {
		if k, ok := strings.CutPrefix(strings.TrimSpace(line), "DTMF: "); ok {
			keys.WriteString(k)
		}
	}
	return keys.String()
}
