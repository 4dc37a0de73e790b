package audiofile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

func tone() []int16 {
	return dtmf.GenerateDigits("147#", dtmf.DefaultToneOptions())
}

func TestWAVRoundTrip(t *testing.T) {
	pcm := tone()
	for _, enc := range []Encoding{PCM16, ULaw, ALaw} {
		var b bytes.Buffer
		if err := WriteWAV(&b, pcm[:len(pcm)-1], enc); err != nil { // odd length: pad byte
			t.Fatal(err)
		}
		got, info, err := ReadWAV(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatalf("%v: %v", enc, err)
		}
		if info.Encoding != enc || info.SampleRate != 8000 || info.Channels != 1 || len(got) != len(pcm)-1 {
			t.Fatalf("%v: %+v, %d samples", enc, info, len(got))
		}
		for i := range got {
			want := pcm[i]
			switch enc {
			case ULaw:
				want = dtmf.ULawToLinear(dtmf.LinearToULaw(want))
			case ALaw:
				want = dtmf.ALawToLinear(dtmf.LinearToALaw(want))
			}
			if got[i] != want {
				t.Fatalf("%v sample %d: %d, want %d", enc, i, got[i], want)
			}
		}
	}
}

// sox must read what WriteWAV writes, and ReadWAV what sox writes (including extensible).
func TestWAVInteropSox(t *testing.T) {
	if _, err := exec.LookPath("sox"); err != nil {
		t.Fatalf("sox not installed: run make deps")
	}
	dir := t.TempDir()
	pcm := tone()
	for _, enc := range []Encoding{PCM16, ULaw, ALaw} {
		in := filepath.Join(dir, enc.String()+".wav")
		if err := WriteWAVFile(in, pcm, enc); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("sox", "--i", in).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "Sample Rate    : 8000") {
			t.Fatalf("sox --i %s: %v\n%s", enc, err, out)
		}
	}
	// sox writes 16 kHz and stereo files we must refuse, and an extensible μ-law one we read
	src := filepath.Join(dir, "s16.wav")
	cases := []struct {
		args []string
		err  error
	}{
		{[]string{"-r", "16000"}, ErrUnsupported},
		{[]string{"-c", "2"}, ErrUnsupported},
		{[]string{"-e", "u-law"}, nil},
		{[]string{"-e", "a-law"}, nil},
		{[]string{"-b", "8", "-e", "unsigned"}, ErrUnsupported},
	}
	for i, c := range cases {
		out := filepath.Join(dir, "sox"+string(rune('a'+i))+".wav")
		args := append([]string{src}, c.args...)
		if b, err := exec.Command("sox", append(args, out)...).CombinedOutput(); err != nil {
			t.Fatalf("sox %v: %v\n%s", args, err, b)
		}
		got, err := ReadAudioFile(out, "")
		if !errors.Is(err, c.err) && !(c.err == nil && err == nil) {
			t.Fatalf("sox %v: ReadAudioFile = %v, want %v", c.args, err, c.err)
		}
		if c.err == nil && len(got) != len(pcm) {
			t.Fatalf("sox %v: %d samples, want %d", c.args, len(got), len(pcm))
		}
	}
}

func TestWAVErrors(t *testing.T) {
	var good bytes.Buffer
	if err := WriteWAV(&good, tone(), PCM16); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	cases := map[string][]byte{
		"empty":      nil,
		"not riff":   []byte("RIFX0000WAVEfmt "),
		"no fmt":     append([]byte("RIFF\x00\x00\x00\x00WAVE"), "LIST\x02\x00\x00\x00ab"...),
		"fmt cut":    g[:20],
		"huge chunk": append(append([]byte{}, g[:12]...), "junk\xff\xff\xff\x7f"...),
	}
	for name, b := range cases {
		if _, _, err := ReadWAV(bytes.NewReader(b)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// a data chunk that claims more than the file holds is read to the end
	cut := append([]byte{}, g[:len(g)-101]...)
	pcm, _, err := ReadWAV(bytes.NewReader(cut))
	if err != nil || len(pcm) != (len(cut)-44)/2 {
		t.Fatalf("truncated data: %d samples, %v", len(pcm), err)
	}
}

func TestRawAndFormats(t *testing.T) {
	dir := t.TempDir()
	pcm := tone()
	u := make([]byte, len(pcm))
	dtmf.EncodeULaw(u, pcm)
	a := make([]byte, len(pcm))
	dtmf.EncodeALaw(a, pcm)
	s := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(s[2*i:], uint16(v))
	}
	for name, data := range map[string][]byte{"x.ul": u, "x.alaw": a, "x.s16": s, "x.raw": s} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := ReadAudioFile(p, "")
		if err != nil || len(got) != len(pcm) {
			t.Fatalf("%s: %d samples, %v", name, len(got), err)
		}
	}
	if _, err := FormatFromPath("x.mp3"); !errors.Is(err, ErrFormat) {
		t.Fatal(".mp3 accepted")
	}
	if _, err := ReadRaw(bytes.NewReader([]byte{1, 2, 3}), PCM16); !errors.Is(err, ErrTruncated) {
		t.Fatal("odd s16 accepted")
	}
	if f, err := ParseFormat("PCMU"); err != nil || f != FormatULaw {
		t.Fatal("ParseFormat(PCMU)")
	}
}

func writeTestPcap(t *testing.T, v6 bool) ([]byte, []rtp.Packet) {
	var b bytes.Buffer
	w, err := NewPcapWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	src := netip.MustParseAddrPort("192.0.2.10:40000")
	dst := netip.MustParseAddrPort("192.0.2.20:20000")
	if v6 {
		src = netip.MustParseAddrPort("[2001:db8::10]:40000")
		dst = netip.MustParseAddrPort("[2001:db8::20]:20000")
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var sent []rtp.Packet
	for i := 0; i < 5; i++ {
		p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(65534 + i),
			Timestamp: uint32(i * 160), SSRC: 0x1234, Marker: i == 0}, Payload: bytes.Repeat([]byte{byte(i)}, 160)}
		if err := w.WriteRTP(t0.Add(time.Duration(i)*20*time.Millisecond), src, dst, &p); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, p)
	}
	info := "INFO sip:a@192.0.2.20 SIP/2.0\r\nCall-ID: abc\r\nContent-Type: application/dtmf-relay\r\nContent-Length: 26\r\n\r\nSignal=5\r\nDuration=160\r\n"
	if err := w.WriteUDP(t0.Add(time.Second), src, netip.AddrPortFrom(dst.Addr(), 5060), []byte(info)); err != nil {
		t.Fatal(err)
	}
	// RTCP is not RTP
	if err := w.WriteUDP(t0, src, dst, []byte{0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), sent
}

func TestPcapRoundTrip(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		b, sent := writeTestPcap(t, v6)
		c, err := ReadPcap(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.RTP) != len(sent) || len(c.Info) != 1 || c.Skipped != 1 {
			t.Fatalf("v6=%v: %d RTP, %d INFO, %d skipped", v6, len(c.RTP), len(c.Info), c.Skipped)
		}
		for i, p := range c.RTP {
			if p.Header.SequenceNumber != sent[i].SequenceNumber || p.Header.Timestamp != sent[i].Timestamp ||
				!bytes.Equal(p.Payload, sent[i].Payload) || p.Src.Port() != 40000 || p.Dst.Port() != 20000 ||
				p.Time.Sub(c.RTP[0].Time) != time.Duration(i)*20*time.Millisecond {
				t.Fatalf("packet %d: %+v", i, p)
			}
		}
		in := c.Info[0]
		if in.CallID != "abc" || in.ContentType != "application/dtmf-relay" || string(in.Body) != "Signal=5\r\nDuration=160\r\n" {
			t.Fatalf("INFO: %+v", in)
		}
		d, dur, err := dtmf.ParseInfo(in.ContentType, in.Body)
		if err != nil || d.Char() != '5' || dur != 160*time.Millisecond {
			t.Fatalf("INFO body: %v", err)
		}
	}
}

// tcpdump verifies the IP and UDP checksums the writer computed.
func TestPcapChecksumsTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Fatalf("tcpdump not installed: run make deps")
	}
	for _, v6 := range []bool{false, true} {
		b, _ := writeTestPcap(t, v6)
		p := filepath.Join(t.TempDir(), "x.pcap")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("tcpdump", "-nn", "-vv", "-r", p).CombinedOutput()
		if err != nil {
			t.Fatalf("tcpdump: %v\n%s", err, out)
		}
		s := string(out)
		if strings.Contains(s, "bad") || strings.Count(s, "UDP") < 5 {
			t.Fatalf("tcpdump v6=%v:\n%s", v6, s)
		}
		if !v6 && strings.Count(s, "[udp sum ok]") != 7 {
			t.Fatalf("tcpdump does not confirm 7 UDP checksums:\n%s", s)
		}
	}
}

func TestPcapErrors(t *testing.T) {
	b, _ := writeTestPcap(t, false)
	if _, err := ReadPcap(bytes.NewReader(b[:10])); !errors.Is(err, ErrNotPcap) {
		t.Fatalf("short: %v", err)
	}
	if _, err := ReadPcap(bytes.NewReader(b[:len(b)-3])); !errors.Is(err, ErrTruncated) {
		t.Fatalf("cut: %v", err)
	}
	bad := append([]byte{}, b...)
	binary.LittleEndian.PutUint32(bad[20:], 147)
	if _, err := ReadPcap(bytes.NewReader(bad)); !errors.Is(err, ErrLinkType) {
		t.Fatalf("link type: %v", err)
	}
	if _, err := ReadPcap(strings.NewReader("\x0a\x0d\x0d\x0a........................")); !errors.Is(err, ErrNotPcap) {
		t.Fatalf("pcapng: %v", err)
	}
}

// Linux cooked and raw-IP captures carry the same packets.
func TestPcapLinkTypes(t *testing.T) {
	b, sent := writeTestPcap(t, false)
	for _, lt := range []struct {
		link int
		hdr  func() []byte
	}{
		{LinkSLL, func() []byte { h := make([]byte, 16); h[14], h[15] = 0x08, 0x00; return h }},
		{LinkSLL2, func() []byte { h := make([]byte, 20); h[0], h[1] = 0x08, 0x00; return h }},
		{LinkRaw, func() []byte { return nil }},
		{LinkNull, func() []byte { return []byte{2, 0, 0, 0} }},
	} {
		out := append([]byte{}, b[:24]...)
		binary.LittleEndian.PutUint32(out[20:], uint32(lt.link))
		for off := 24; off < len(b); {
			n := int(binary.LittleEndian.Uint32(b[off+8:]))
			frame := append(lt.hdr(), b[off+16+14:off+16+n]...)
			rh := append([]byte{}, b[off:off+16]...)
			binary.LittleEndian.PutUint32(rh[8:], uint32(len(frame)))
			binary.LittleEndian.PutUint32(rh[12:], uint32(len(frame)))
			out = append(append(out, rh...), frame...)
			off += 16 + n
		}
		c, err := ReadPcap(bytes.NewReader(out))
		if err != nil || len(c.RTP) != len(sent) || len(c.Info) != 1 {
			t.Fatalf("link %d: %v, %d RTP", lt.link, err, len(c.RTP))
		}
	}
}

func FuzzReadWAV(f *testing.F) {
	var b bytes.Buffer
	_ = WriteWAV(&b, tone()[:64], ULaw)
	f.Add(b.Bytes())
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pcm, _, err := ReadWAV(bytes.NewReader(data))
		if err == nil && len(pcm) > len(data) {
			t.Fatalf("%d samples from %d bytes", len(pcm), len(data))
		}
	})
}

func FuzzReadPcap(f *testing.F) {
	var b bytes.Buffer
	w, _ := NewPcapWriter(&b)
	_ = w.WriteRTP(time.Unix(1, 0), netip.MustParseAddrPort("10.0.0.1:1000"), netip.MustParseAddrPort("10.0.0.2:2000"),
		&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101}, Payload: []byte{1, 0x8a, 0, 160}})
	_ = w.WriteUDP(time.Unix(2, 0), netip.MustParseAddrPort("[::1]:5060"), netip.MustParseAddrPort("[::2]:5060"),
		[]byte("INFO sip:x SIP/2.0\r\nc: application/dtmf\r\nl: 1\r\n\r\n5"))
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ReadPcap(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, p := range c.RTP {
			if p.Header.Version != 2 || len(p.Payload) > len(data) {
				t.Fatalf("bad packet %+v", p.Header)
			}
		}
	})
}

// WriteKeysPcap round trip: every mode and codec decodes back to the keys.
func TestWriteKeysPcap(t *testing.T) {
	for _, c := range []struct {
		opt    KeysPcapOptions
		source string
	}{
		{KeysPcapOptions{Keys: "0123456789*#ABCD", Events: true}, "rfc4733"},
		{KeysPcapOptions{Keys: "1, 2", Inband: true, Law: ALaw}, "inband"},
		{KeysPcapOptions{Keys: "55#", Events: true, Inband: true, EventPT: 96, On: 60 * time.Millisecond, Off: 60 * time.Millisecond}, ""},
	} {
		var b bytes.Buffer
		if err := WriteKeysPcap(&b, c.opt); err != nil {
			t.Fatal(err)
		}
		capt, err := ReadPcap(&b)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, e := range CaptureDigits(capt, CaptureOptions{EventPT: c.opt.EventPT}) {
			if c.source == "" || e.Source.String() == c.source {
				got += string(e.Digit.Char())
			}
		}
		if want := strings.NewReplacer(",", "", " ", "").Replace(c.opt.Keys); got != want {
			t.Fatalf("%+v: decoded %q, want %q", c.opt, got, want)
		}
	}
	if err := WriteKeysPcap(io.Discard, KeysPcapOptions{Keys: "1"}); err == nil {
		t.Fatal("neither events nor in-band accepted")
	}
	if err := WriteKeysPcap(io.Discard, KeysPcapOptions{Keys: "1x", Events: true}); err == nil {
		t.Fatal("bad key accepted")
	}
}
