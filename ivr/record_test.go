package ivr

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/internal/audiofile"
	"github.com/paybridge/paybridge/loadtest/pcapgen"
	"github.com/paybridge/paybridge/siptest"
)

// multimonDigits runs multimon-ng's DTMF decoder (an independent detector) over a WAV file.
func multimonDigits(t *testing.T, wav string) string {
	t.Helper()
	bin := needTool(t, "multimon-ng")
	needTool(t, "sox") // multimon-ng converts WAV input through sox
	out, err := exec.Command(bin, "-q", "-c", "-a", "DTMF", "-t", "wav", wav).CombinedOutput()
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

// TestRecordingIsMasked keys a card in-band while the handler holds the secure window, then
// checks with multimon-ng that the call's recording holds no digit — and, as a control, that
// multimon-ng finds them in the same tones unmasked.
func TestRecordingIsMasked(t *testing.T) {
	dir := t.TempDir()
	control := filepath.Join(dir, "control.wav")
	ulaw := pcapgen.InbandULaw(sippCard, pcapgen.Options{})
	pcm := make([]int16, len(ulaw))
	dtmf.DecodeULaw(pcm, ulaw)
	if err := audiofile.WriteWAVFile(control, pcm, audiofile.PCM16); err != nil {
		t.Fatal(err)
	}
	if got := multimonDigits(t, control); len(got) < len(sippCard)-2 {
		t.Fatalf("control: multimon-ng found only %d of %d digits in unmasked tones", len(got), len(sippCard))
	}

	got := make(chan collected, 1)
	calls := make(chan *Call, 1)
	router := RouterFunc(func(to string) (CallHandler, bool) {
		h := digitCollector(len(sippCard), got).(RouterFunc)
		inner, _ := h(to)
		return func(ctx context.Context, call *Call) {
			calls <- call
			call.Secure(true) // Pay would turn it on for the whole capture
			inner(ctx, call)
		}, true
	})
	s, logs := startServer(t, Config{Router: router, Record: true, RecordDir: dir})
	res, err := siptest.Dial(context.Background(), siptest.CallerConfig{
		Target: "sip:+441632960000@" + s.Addr().String(), Digits: sippCard, DTMF: siptest.DTMFInband, Timeout: 30 * time.Second,
	})
	if err != nil || !res.Answered {
		t.Fatalf("call: %+v %v", res, err)
	}
	c := <-got
	call := <-calls
	<-call.Done()
	if c.digits != sippCard {
		t.Fatalf("detector got %d of %d digits", len(c.digits), len(sippCard))
	}
	rec := call.RecordingPath()
	info, err := os.Stat(rec)
	if err != nil {
		t.Fatal(err)
	}
	if info.Size() < 44+2*8000 {
		t.Fatalf("recording is %d bytes: too short for the call", info.Size())
	}
	if keys := multimonDigits(t, rec); keys != "" {
		t.Fatalf("multimon-ng recovered %d digits from the masked recording", len(keys))
	}
	assertNoCards(t, "server logs", logs.String())
}
