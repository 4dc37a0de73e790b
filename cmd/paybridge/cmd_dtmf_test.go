package main

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/audiofile"
)

func decodeLines(t *testing.T, stdout string) []digitLine {
	t.Helper()
	var out []digitLine
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		if l == "" {
			continue
		}
		var d digitLine
		dec := json.NewDecoder(strings.NewReader(l))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("not a digit line: %q: %v", l, err)
		}
		out = append(out, d)
	}
	return out
}

func keysOf(ls []digitLine, source string) string {
	var b strings.Builder
	for _, l := range ls {
		if l.Source == source || source == "" {
			b.WriteString(l.Digit)
		}
	}
	return b.String()
}

func TestDTMFGenDecodeRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, law := range []string{"", "ulaw", "alaw"} {
		out := filepath.Join(dir, "keys"+law+".wav")
		code, _, stderr := runCmd(t, "dtmf", "gen", "--digits", "0123456789*#ABCD", "-o", out, "--level", "-20", "--twist", "2",
			"--on", "50ms", "--off", "50ms", "--law", law)
		if code != 0 {
			t.Fatalf("gen %s: %d %s", law, code, stderr)
		}
		code, stdout, stderr := runCmd(t, "dtmf", "decode", out)
		if code != 0 {
			t.Fatalf("decode: %d %s", code, stderr)
		}
		ls := decodeLines(t, stdout)
		if got := keysOf(ls, "inband"); got != "0123456789*#ABCD" {
			t.Fatalf("law %q: decoded %q", law, got)
		}
		// 50 ms on / 50 ms off: key k starts at 100k ms
		for i, l := range ls {
			if d := l.StartMS - int64(100*i); d < -5 || d > 15 || l.EndMS-l.StartMS < 35 || l.EndMS-l.StartMS > 70 {
				t.Fatalf("key %d: %+v", i, l)
			}
		}
	}
	if !strings.HasPrefix(mustRead(t, filepath.Join(dir, "keysulaw.wav"))[:4], "RIFF") {
		t.Fatal("not a WAV")
	}
}

func mustRead(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDTMFDecodeRawFormats(t *testing.T) {
	dir := t.TempDir()
	pcm := dtmf.GenerateDigits("42#", dtmf.DefaultToneOptions())
	u := make([]byte, len(pcm))
	dtmf.EncodeULaw(u, pcm)
	a := make([]byte, len(pcm))
	dtmf.EncodeALaw(a, pcm)
	s := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		s[2*i], s[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	for name, data := range map[string][]byte{"a.ul": u, "a.ulaw": u, "a.al": a, "a.alaw": a, "a.s16": s, "a.raw": s, "noext": u} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"dtmf", "decode", p}
		if name == "noext" {
			args = []string{"dtmf", "decode", "--format", "ulaw", p}
		}
		code, stdout, stderr := runCmd(t, args...)
		if code != 0 || keysOf(decodeLines(t, stdout), "inband") != "42#" {
			t.Fatalf("%s: code %d stdout %q stderr %q", name, code, stdout, stderr)
		}
	}
}

func TestDTMFDecodeErrors(t *testing.T) {
	dir := t.TempDir()
	notwav := filepath.Join(dir, "x.wav")
	if err := os.WriteFile(notwav, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"dtmf", "decode", filepath.Join(dir, "missing.wav")}, 1, "no such file"},
		{[]string{"dtmf", "decode", notwav}, 1, "not a RIFF/WAVE"},
		{[]string{"dtmf", "decode", filepath.Join(dir, "x.mp3")}, 1, "extension"},
		{[]string{"dtmf", "decode", "--format", "flac", notwav}, 2, "unknown audio format"},
		{[]string{"dtmf", "decode"}, 2, "exactly one FILE"},
		{[]string{"dtmf", "gen", "--digits", "12x", "-o", notwav}, 2, "not a DTMF key"},
		{[]string{"dtmf", "frob"}, 2, "unknown subcommand"},
		{[]string{"dtmf", "mask", notwav, "-o", filepath.Join(dir, "o.wav")}, 1, "not a RIFF/WAVE"},
	} {
		code, _, stderr := runCmd(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: code %d stderr %q, want %d and %q", c.args, code, stderr, c.code, c.msg)
		}
	}
}

// pcapCall writes a capture of one call leg: PCMU audio carrying in-band tones for the keys
// and/or RFC 4733 events (payload type pt), one SSRC, one packet lost in the middle of each
// tone when lose is set.
func pcapCall(t *testing.T, path, keys string, inband, events bool, pt uint8, red uint8, lose bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := audiofile.NewPcapWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddrPort("198.51.100.7:30000")
	dst := netip.MustParseAddrPort("198.51.100.9:40000")
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	seq, ts := uint16(65500), uint32(0xFFFFF000)
	const on, off = 100, 100 // ms
	send := func(at time.Duration, pt uint8, tsv uint32, marker bool, payload []byte) {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: tsv, SSRC: 0xCAFE, Marker: marker}, Payload: payload}
		seq++
		if err := w.WriteRTP(t0.Add(at), src, dst, &p); err != nil {
			t.Fatal(err)
		}
	}
	at := time.Duration(0)
	for i := 0; i < len(keys); i++ {
		d := dtmf.Digit(keys[i])
		tone := dtmf.GenerateDigit(d, dtmf.ToneOptions{Level: -12, Duration: on * time.Millisecond})
		var ev []dtmf.SenderPacket
		if events {
			ev, err = dtmf.NewSender(8000).Packets(d, ts, on*time.Millisecond, 20*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
		}
		for fr := 0; fr < (on+off)/20; fr++ {
			for len(ev) > 0 && ev[0].Offset <= time.Duration(fr)*20*time.Millisecond {
				payload := ev[0].Payload
				ptv := pt
				if red != 0 {
					payload, err = dtmf.PackRED([]dtmf.REDBlock{{PayloadType: pt, Data: payload}})
					if err != nil {
						t.Fatal(err)
					}
					ptv = red
				}
				send(at, ptv, ev[0].Timestamp, ev[0].Marker, payload)
				ev = ev[1:]
			}
			frame := make([]int16, 160)
			if inband && fr*160 < len(tone) {
				copy(frame, tone[fr*160:])
			}
			u := make([]byte, 160)
			dtmf.EncodeULaw(u, frame)
			if !(lose && fr == 2) {
				send(at, 0, ts, false, u)
			} else {
				seq++
			}
			ts += 160
			at += 20 * time.Millisecond
		}
	}
}

func TestDTMFDecodePcap(t *testing.T) {
	dir := t.TempDir()
	const keys = "4242#"
	for _, c := range []struct {
		name           string
		inband, events bool
		pt, red        uint8
		lose           bool
		source         string
		args           []string
	}{
		{"inband PCMU", true, false, 0, 0, false, "inband", nil},
		{"inband with a lost packet per tone", true, false, 0, 0, true, "inband", nil},
		{"rfc4733 PT 101", false, true, 101, 0, false, "rfc4733", nil},
		{"rfc4733 PT 96, audio too", false, true, 96, 0, false, "rfc4733", []string{"--event-pt", "96"}},
		{"tones and events: one key each", true, true, 110, 0, false, "", nil},
		{"red PT 99 wrapping PT 101", false, true, 101, 99, false, "rfc4733", []string{"--red-pt", "99"}},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".pcap")
		pcapCall(t, p, keys, c.inband, c.events, c.pt, c.red, c.lose)
		args := append(append([]string{"dtmf", "decode"}, c.args...), p)
		code, stdout, stderr := runCmd(t, args...)
		if code != 0 {
			t.Fatalf("%s: %d %s", c.name, code, stderr)
		}
		ls := decodeLines(t, stdout)
		if got := keysOf(ls, c.source); got != keys || len(ls) != len(keys) {
			t.Fatalf("%s: decoded %s", c.name, stdout)
		}
		for i, l := range ls {
			if d := l.StartMS - int64(200*i); d < -10 || d > 20 {
				t.Fatalf("%s: key %d starts at %d ms, want about %d", c.name, i, l.StartMS, 200*i)
			}
		}
	}
}

func TestDTMFDecodePcapInfo(t *testing.T) {
	p := filepath.Join(t.TempDir(), "info.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := audiofile.NewPcapWriter(f)
	src := netip.MustParseAddrPort("[2001:db8::1]:5060")
	dst := netip.MustParseAddrPort("[2001:db8::2]:5060")
	t0 := time.Unix(1700000000, 0)
	for i, k := range "73*" {
		body := dtmf.FormatInfoRelay(dtmf.Digit(k), 160*time.Millisecond)
		msg := "INFO sip:ivr@[2001:db8::2] SIP/2.0\r\nCall-ID: x1\r\nContent-Type: application/dtmf-relay\r\nContent-Length: " +
			itoa(len(body)) + "\r\n\r\n" + string(body)
		if err := w.WriteUDP(t0.Add(time.Duration(i)*300*time.Millisecond), src, dst, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	code, stdout, stderr := runCmd(t, "dtmf", "decode", p)
	ls := decodeLines(t, stdout)
	if code != 0 || keysOf(ls, "info") != "73*" || ls[1].StartMS != 300 || ls[1].EndMS != 460 {
		t.Fatalf("code %d stdout %q stderr %q", code, stdout, stderr)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// mask: the summary shape, the output decodes to nothing, and no card number appears in any
// output of the command.
func TestDTMFMask(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "card.wav")
	const pan = "4242424242424242"
	if code, _, stderr := runCmd(t, "dtmf", "gen", "--digits", pan, "-o", in, "--law", "alaw"); code != 0 {
		t.Fatal(stderr)
	}
	out := filepath.Join(dir, "masked.wav")
	code, stdout, stderr := runCmd(t, "dtmf", "mask", in, "-o", out)
	if code != 0 {
		t.Fatalf("mask: %d %s", code, stderr)
	}
	var sum struct {
		MaskedDigits int `json:"masked_digits"`
		LookaheadMS  int `json:"lookahead_ms"`
	}
	dec := json.NewDecoder(strings.NewReader(stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sum); err != nil || sum.MaskedDigits != 16 || sum.LookaheadMS != 60 {
		t.Fatalf("summary %q: %+v %v", stdout, sum, err)
	}
	for _, card := range []string{"4242424242424242", "5555555555554444", "378282246310005"} {
		if strings.Contains(stdout+stderr, card) {
			t.Fatalf("mask output contains a card number")
		}
	}
	pcmIn, _ := audiofile.ReadAudioFile(in, "")
	pcmOut, info, err := readWAV(out)
	if err != nil || len(pcmOut) != len(pcmIn) || info.Encoding != audiofile.ALaw {
		t.Fatalf("masked file: %d samples of %d, %+v, %v", len(pcmOut), len(pcmIn), info, err)
	}
	code, stdout, _ = runCmd(t, "dtmf", "decode", out)
	if code != 0 || stdout != "" {
		t.Fatalf("masked audio still decodes: %q", stdout)
	}
	if bytes.Contains([]byte(mustRead(t, out)), []byte(pan)) {
		t.Fatal("masked file contains the PAN")
	}
}

func readWAV(p string) ([]int16, audiofile.WAVInfo, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, audiofile.WAVInfo{}, err
	}
	defer f.Close()
	return audiofile.ReadWAV(f)
}

func TestDTMFHelp(t *testing.T) {
	for _, sub := range []string{"decode", "gen", "mask"} {
		code, _, stderr := runCmd(t, "dtmf", sub, "-h")
		if code != 0 || !strings.Contains(stderr, "-") {
			t.Errorf("dtmf %s -h: code %d, stderr %q", sub, code, stderr)
		}
	}
	if code, stdout, _ := runCmd(t, "dtmf", "help"); code != 0 || !strings.Contains(stdout, `{"digit":"5"`) {
		t.Errorf("dtmf help: %d %q", code, stdout)
	}
	if code, _, _ := runCmd(t, "dtmf"); code != 2 {
		t.Errorf("dtmf without subcommand: %d", code)
	}
}
