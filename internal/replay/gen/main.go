// Command gen writes the recorded calls of testdata/replay: a μ-law WAV of in-band tones and
// a pcap of an RTP stream (PCMU audio + RFC 4733 events, one SSRC, as a desk phone sends).
// They are committed; rerun only to change them:
//
//	go run ./internal/replay/gen testdata/replay
package main

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/audiofile"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	if err := writeWAV(filepath.Join(dir, "vcc-visa.wav")); err != nil {
		fail(err)
	}
	if err := writePcap(filepath.Join(dir, "vcc-amex-rfc4733.pcap"), []string{"87654321", "378282246310005", "0130", "1234"}, false); err != nil {
		fail(err)
	}
	if err := writePcap(filepath.Join(dir, "vcc-mastercard-leaky.pcap"), []string{"12345678", "5555555555554444", "1230", "123"}, true); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

// writeWAV: account 12345678, a pause, a visa card ended with #, expiry 12/30, CVV 123.
func writeWAV(path string) error {
	opt := dtmf.DefaultToneOptions()
	opt.Duration, opt.Gap = 90*time.Millisecond, 110*time.Millisecond
	sil := func(d time.Duration) []int16 { return make([]int16, int(d/time.Millisecond)*8) }
	var pcm []int16
	pcm = append(pcm, sil(1500*time.Millisecond)...)
	pcm = append(pcm, dtmf.GenerateDigits("12345678", opt)...)
	pcm = append(pcm, sil(1500*time.Millisecond)...)
	pcm = append(pcm, dtmf.GenerateDigits("4242424242424242#", opt)...)
	pcm = append(pcm, sil(800*time.Millisecond)...)
	pcm = append(pcm, dtmf.GenerateDigits("1230", opt)...)
	pcm = append(pcm, sil(800*time.Millisecond)...)
	pcm = append(pcm, dtmf.GenerateDigits("123", opt)...)
	pcm = append(pcm, sil(time.Second)...)
	return audiofile.WriteWAVFile(path, pcm, audiofile.ULaw)
}

// writePcap writes the key groups as RFC 4733 events (PT 101) in a PCMU stream of silence,
// 1.2 s between groups. With leak, the audio also carries the first 60 ms of each key's
// tones, as gateways that detect in-band and then mute do: one keypress, two sources, and it
// must still count once.
func writePcap(path string, groups []string, leak bool) error {
	var buf bytes.Buffer
	pw, err := audiofile.NewPcapWriter(&buf)
	if err != nil {
		return err
	}
	src := netip.MustParseAddrPort("192.0.2.10:40000")
	dst := netip.MustParseAddrPort("192.0.2.1:20000")
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	const ssrc = 0x5eed1234
	var seq uint16 = 1000
	var ts uint32 = 80000
	type ev struct {
		at  time.Duration
		pkt dtmf.SenderPacket
	}
	var events []ev
	sender := dtmf.NewSender(8000)
	at := 1500 * time.Millisecond
	type leaked struct {
		d     dtmf.Digit
		frame int // 0, 1, 2: which 20 ms of the tone
	}
	tones := map[time.Duration]leaked{} // 20 ms frame start → the tone it carries
	for _, group := range groups {
		for i := 0; i < len(group); i++ {
			d, _ := dtmf.ParseDigit(group[i])
			keyTS := ts + uint32(at/time.Millisecond*8)
			pkts, err := sender.Packets(d, keyTS, 100*time.Millisecond, 20*time.Millisecond)
			if err != nil {
				return err
			}
			for _, p := range pkts {
				events = append(events, ev{at + p.Offset, p})
			}
			if leak {
				for k := range 3 {
					tones[at+time.Duration(k)*20*time.Millisecond] = leaked{d, k}
				}
			}
			at += 250 * time.Millisecond
		}
		at += 1200 * time.Millisecond
	}
	end := at + time.Second
	silence := bytes.Repeat([]byte{0xFF}, 160)
	next := 0
	for t := time.Duration(0); t < end; t += 20 * time.Millisecond {
		for next < len(events) && events[next].at <= t {
			e := events[next]
			next++
			seq++
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: seq, Timestamp: e.pkt.Timestamp,
				SSRC: ssrc, Marker: e.pkt.Marker}, Payload: e.pkt.Payload}
			if err := pw.WriteRTP(t0.Add(e.at), src, dst, p); err != nil {
				return err
			}
		}
		seq++
		payload := silence
		if l, ok := tones[t]; ok {
			opt := dtmf.DefaultToneOptions()
			opt.Duration = 60 * time.Millisecond
			tone := dtmf.GenerateDigit(l.d, opt)
			payload = make([]byte, 160)
			for i := range payload {
				payload[i] = dtmf.LinearToULaw(tone[l.frame*160+i])
			}
		}
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: seq, Timestamp: ts + uint32(t/time.Millisecond*8),
			SSRC: ssrc}, Payload: payload}
		if err := pw.WriteRTP(t0.Add(t), src, dst, p); err != nil {
			return err
		}
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
