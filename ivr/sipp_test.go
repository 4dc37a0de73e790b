package ivr

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/freeport"
	"github.com/paybridge/paybridge/internal/sipsafe"
	"github.com/paybridge/paybridge/internal/testlog"
	"github.com/paybridge/paybridge/loadtest/pcapgen"
)

// The card every outside caller keys: PAN, expiry (MMYY), security code.
const sippCard = "4242424242424242" + "1230" + "123"

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not installed: run make deps", name)
	}
	return p
}

// freePort returns a UDP port that was free a moment ago. even asks for SIPp's -mp: an even
// port that begins a run of 4 free ports (SIPp binds audio and video RTP and RTCP from it;
// freeport.UDPRun binds each at the look — "Unable to bind video RTP socket" otherwise).
func freePort(t *testing.T, even bool) int {
	t.Helper()
	p, err := freeport.UDP()
	if even {
		p, err = freeport.UDPRun(4)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func scenario(t *testing.T, name string, repl ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "sip", "sipp", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(repl...).Replace(string(b))
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runSIPp places one call with scenario sf against addr and returns SIPp's output.
func runSIPp(t *testing.T, sf, addr string) string {
	t.Helper()
	sipp := needTool(t, "sipp")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out bytes.Buffer
	var errs []byte
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		dir := t.TempDir()
		cmd := exec.CommandContext(ctx, sipp, addr, "-sf", sf, "-s", "+441632960000", "-m", "1", "-l", "1",
			"-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t, false)), "-mp", strconv.Itoa(freePort(t, true)),
			"-timeout", "45s", "-timeout_error", "-nostdin", "-trace_err", "-error_file", filepath.Join(dir, "err.log"))
		cmd.Dir = dir
		out.Reset()
		cmd.Stdout, cmd.Stderr = &out, &out
		err = cmd.Run()
		errs, _ = os.ReadFile(filepath.Join(dir, "err.log"))
		// A port picked as free was taken before SIPp bound it: no call was placed, try again.
		if err == nil || !strings.Contains(out.String()+string(errs), "already in use") {
			break
		}
	}
	if err != nil {
		t.Fatalf("sipp failed: %v\n%s\n%s", err, tail(out.String(), 3000), tail(string(errs), 3000))
	}
	return out.String() + string(errs)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// TestSIPpKeysCard has SIPp (a caller nobody here wrote) key a full card three ways; the
// Channel must deliver every digit, in order, once, and nothing may leak.
func TestSIPpKeysCard(t *testing.T) {
	needTool(t, "sipp")
	tests := []struct {
		name  string
		build func(t *testing.T) string
	}{
		{"rfc4733-pcap", func(t *testing.T) string {
			var b bytes.Buffer
			if err := pcapgen.WriteRFC4733(&b, sippCard, pcapgen.Options{}); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "card.pcap")
			os.WriteFile(p, b.Bytes(), 0o644)
			return scenario(t, "uac_card_pcap.xml", "@PCAP@", p)
		}},
		{"inband-rtp_stream", func(t *testing.T) string {
			p := filepath.Join(t.TempDir(), "card.ulaw")
			os.WriteFile(p, pcapgen.InbandULaw(sippCard, pcapgen.Options{}), 0o644)
			return scenario(t, "uac_card_inband.xml", "@AUDIO@", p)
		}},
		{"inband-pcma-rtp_stream", func(t *testing.T) string {
			// An A-law caller: the offer lists only PCMA, the tones are A-law encoded.
			ulaw := pcapgen.InbandULaw(sippCard, pcapgen.Options{})
			pcm := make([]int16, len(ulaw))
			dtmf.DecodeULaw(pcm, ulaw)
			alaw := make([]byte, len(pcm))
			dtmf.EncodeALaw(alaw, pcm)
			p := filepath.Join(t.TempDir(), "card.alaw")
			os.WriteFile(p, alaw, 0o644)
			return scenario(t, "uac_card_inband.xml", "@AUDIO@,1,0", p+",1,8",
				"RTP/AVP 0 101", "RTP/AVP 8 101", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000")
		}},
		{"sip-info", func(t *testing.T) string {
			block, err := os.ReadFile(filepath.Join("..", "testdata", "sip", "sipp", "info_block.xml"))
			if err != nil {
				t.Fatal(err)
			}
			var infos strings.Builder
			for i := 0; i < len(sippCard); i++ {
				b := strings.NewReplacer("@CSEQ@", strconv.Itoa(i+2), "@KEY@", sippCard[i:i+1]).Replace(string(block))
				if i == len(sippCard)-1 {
					// paybridge hangs up as soon as the last key is in: wait for its BYE at once.
					b = b[:strings.Index(b, "  <pause")]
				}
				infos.WriteString(b)
			}
			return scenario(t, "uac_card_info.xml", "@INFOS@", infos.String())
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make(chan collected, 1)
			trace := &testlog.Buffer{}
			sipsafe.TraceSIP(trace)
			t.Cleanup(func() { sipsafe.TraceSIP(nil) }) // after the server below has stopped (cleanups run last-in first-out)
			s, logs := startServer(t, Config{Router: digitCollector(len(sippCard), got)})
			out := runSIPp(t, tt.build(t), s.Addr().String())
			var c collected
			select {
			case c = <-got:
			case <-time.After(5 * time.Second):
				t.Fatal("the handler never finished")
			}
			if c.digits != sippCard {
				t.Fatalf("channel got %d digits (want %d), equal=%v", len(c.digits), len(sippCard), c.digits == sippCard)
			}
			assertNoCards(t, "server logs", logs.String())
			assertNoCards(t, "SIP trace", trace.String())
			_ = out
			t.Logf("SIPp %s: %d digits delivered", tt.name, len(c.digits))
		})
	}
}

var _ = fmt.Sprint
