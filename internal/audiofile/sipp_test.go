package audiofile

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"github.com/paybridge/paybridge/dtmf"
)

// freePort returns a UDP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// writeCallPcap writes what a caller keying keys sends: PCMU tones and RFC 4733 events.
func writeCallPcap(t *testing.T, path, keys string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteKeysPcap(f, KeysPcapOptions{Keys: keys, Events: true, Inband: true}); err != nil {
		t.Fatal(err)
	}
}

// A pcap from PcapWriter, played by SIPp's play_pcap_audio inside a real call between two
// SIPp instances, arrives at the answering side's media port and decodes to the same keys,
// both in-band and as RFC 4733 events.
func TestPcapPlaysThroughSIPp(t *testing.T) {
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatalf("sipp not installed: run make deps")
	}
	const keys = "159#"
	dir := t.TempDir()
	pcap := filepath.Join(dir, "call.pcap")
	writeCallPcap(t, pcap, keys)

	rtpConn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer rtpConn.Close()
	rtpPort := rtpConn.LocalAddr().(*net.UDPAddr).Port

	read := func(name string, repl map[string]string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "sipp", name))
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for k, v := range repl {
			s = strings.ReplaceAll(s, k, v)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	uas := read("uas.xml", map[string]string{"RTPPORT": strconv.Itoa(rtpPort)})
	uac := read("uac.xml", map[string]string{"PCAPFILE": pcap, "PAUSEMS": "1500"})
	sipPort, uacPort, mediaPort := freePort(t), freePort(t), freePort(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var uasOut, uacOut bytes.Buffer
	uasCmd := exec.CommandContext(ctx, "sipp", "-sf", uas, "-i", "127.0.0.1", "-p", strconv.Itoa(sipPort), "-m", "1", "-nostdin")
	uasCmd.Dir, uasCmd.Stdout, uasCmd.Stderr = dir, &uasOut, &uasOut
	if err := uasCmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	uacCmd := exec.CommandContext(ctx, "sipp", "127.0.0.1:"+strconv.Itoa(sipPort), "-sf", uac, "-i", "127.0.0.1",
		"-p", strconv.Itoa(uacPort), "-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort), "-m", "1", "-nostdin")
	uacCmd.Dir, uacCmd.Stdout, uacCmd.Stderr = dir, &uacOut, &uacOut

	pkts := make(chan rtp.Packet, 1000)
	go func() {
		buf := make([]byte, 2048)
		for {
			n, _, err := rtpConn.ReadFrom(buf)
			if err != nil {
				close(pkts)
				return
			}
			var p rtp.Packet
			if p.Unmarshal(buf[:n]) == nil && p.Version == 2 {
				p.Payload = bytes.Clone(p.Payload)
				pkts <- p
			}
		}
	}()
	if err := uacCmd.Run(); err != nil {
		t.Fatalf("sipp UAC: %v\n%s\nUAS:\n%s", err, uacOut.String(), uasOut.String())
	}
	if err := uasCmd.Wait(); err != nil {
		t.Fatalf("sipp UAS: %v\n%s", err, uasOut.String())
	}
	rtpConn.Close()

	var inband, events string
	det := dtmf.NewDetector()
	rx := dtmf.NewReceiver(8000)
	n := 0
	pcm := make([]int16, 160)
	for p := range pkts {
		n++
		switch p.PayloadType {
		case 0:
			dtmf.DecodeULaw(pcm, p.Payload)
			for _, e := range det.Process(pcm[:len(p.Payload)]) {
				if e.End == 0 {
					inband += string(e.Digit.Char())
				}
			}
		case 101:
			evs, err := rx.Receive(p.Timestamp, p.SequenceNumber, p.Payload, time.Duration(n)*10*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.End == 0 {
					events += string(e.Digit.Char())
				}
			}
		}
	}
	t.Logf("%d RTP packets arrived through SIPp", n)
	if inband != keys || events != keys {
		t.Fatalf("through SIPp: in-band %q, RFC 4733 %q, want %q\n%s", inband, events, keys, uacOut.String())
	}
}
