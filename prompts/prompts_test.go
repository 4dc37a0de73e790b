package prompts_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/prompts"
)

func TestEveryDefaultPromptIsBundled(t *testing.T) {
	set, err := prompts.Open("")
	if err != nil {
		t.Fatal(err)
	}
	names := callplan.DefaultPrompts()
	if len(names) < 60 {
		t.Fatalf("engine lists only %d default prompts", len(names))
	}
	for _, n := range names {
		p, err := set.Load(n)
		if err != nil {
			t.Errorf("default prompt %q: %v", n, err)
			continue
		}
		if p.Duration < 150*time.Millisecond || p.Duration > 12*time.Second || !p.Bundled {
			t.Errorf("prompt %q: duration %v bundled %v", n, p.Duration, p.Bundled)
		}
	}
}

func TestBundledPackSize(t *testing.T) {
	var total int64
	err := filepath.WalkDir("en-GB", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		total += info.Size()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("bundled pack: %d prompts, %d bytes", len(prompts.BundledNames()), total)
	if total >= 3<<20 {
		t.Fatalf("bundled pack is %d bytes, budget is 3 MiB", total)
	}
}

func TestPlanDirOverridesBundled(t *testing.T) {
	dir := t.TempDir()
	tone := make([]int16, 4000) // 0.5 s
	for i := range tone {
		tone[i] = int16(i%40*500 - 10000)
	}
	if err := os.WriteFile(filepath.Join(dir, "welcome.wav"), prompts.EncodeWAV(tone), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.wav"), []byte("RIFF....WAVEjunk"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := prompts.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := set.Load("welcome")
	if err != nil || p.Bundled || p.Duration != 500*time.Millisecond || p.Samples[1] != tone[1] {
		t.Fatalf("plan prompt: %+v %v", p, err)
	}
	if p, err := set.Load("goodbye"); err != nil || !p.Bundled {
		t.Fatalf("fallback to bundled: %v", err)
	}
	if _, err := set.Load("broken"); !errors.Is(err, prompts.ErrFormat) {
		t.Fatalf("broken WAV: %v", err)
	}
	if _, err := set.Load("no-such-prompt"); !errors.Is(err, prompts.ErrNotFound) {
		t.Fatalf("missing prompt: %v", err)
	}
	for _, bad := range []string{"", "../etc/passwd", "a/b", ".hidden", "a b"} {
		if _, err := set.Load(bad); !errors.Is(err, prompts.ErrBadName) {
			t.Errorf("Load(%q) = %v, want ErrBadName", bad, err)
		}
	}
	if _, err := prompts.Open(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Open of a missing directory succeeded")
	}
}

func TestWAVRoundTripAndRefusals(t *testing.T) {
	in := []int16{0, 1, -1, 32767, -32768, 1234}
	out, err := prompts.DecodeWAV(prompts.EncodeWAV(in))
	if err != nil || len(out) != len(in) {
		t.Fatalf("round trip: %v %v", out, err)
	}
	for i := range in {
		if in[i] != out[i] {
			t.Fatalf("sample %d: %d != %d", i, out[i], in[i])
		}
	}
	stereo := prompts.EncodeWAV(in)
	stereo[22] = 2
	if _, err := prompts.DecodeWAV(stereo); !errors.Is(err, prompts.ErrFormat) {
		t.Fatalf("stereo accepted: %v", err)
	}
	rate := prompts.EncodeWAV(in)
	rate[24], rate[25] = 0x44, 0xAC // 44100
	if _, err := prompts.DecodeWAV(rate); !errors.Is(err, prompts.ErrFormat) {
		t.Fatalf("44.1 kHz accepted: %v", err)
	}
}

func FuzzDecodeWAV(f *testing.F) {
	f.Add(prompts.EncodeWAV([]int16{1, 2, 3}))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := prompts.DecodeWAV(b)
		if err == nil && len(s) > len(b)/2 {
			t.Fatalf("decoded %d samples from %d bytes", len(s), len(b))
		}
	})
}

func ExampleOpen() {
	set, _ := prompts.Open("") // the bundled pack only
	p, _ := set.Load("digit-7")
	fmt.Println(p.Name, p.Bundled, p.Duration > 0)
	// Output: digit-7 true true
}

// TestCheckSaysWhatIsWrongWithAFile: a prompt WAV at the wrong rate is reported as what it is
// — not as "not found … did you mean <the same name>".
func TestCheckSaysWhatIsWrongWithAFile(t *testing.T) {
	dir := t.TempDir()
	wav := prompts.EncodeWAV(make([]int16, 1600))
	binary.LittleEndian.PutUint32(wav[24:], 16000) // a 16 kHz recording
	binary.LittleEndian.PutUint32(wav[28:], 32000)
	if err := os.WriteFile(filepath.Join(dir, "greeting.wav"), wav, 0o644); err != nil {
		t.Fatal(err)
	}
	plan, ds := callplan.Parse(filepath.Join(dir, "p.xml"), []byte(`<CallPlan name="p"><Match number="+441632960555"/>
<Prompts dir="."/><Flow><Play prompt="greeting"/><Hangup/></Flow></CallPlan>`), nil)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	got := prompts.Check(plan)
	if len(got) != 1 || got[0].Code != "prompt-format" || got[0].Severity != callplan.SeverityWarning {
		t.Fatalf("diagnostics: %v", got)
	}
	msg := got[0].Message
	for _, want := range []string{`prompt "greeting" of <Play>`, filepath.Join(dir, "greeting.wav"), "16000 Hz, mono, 16-bit PCM",
		"want 8 kHz mono 16-bit PCM", "sox IN.wav -r 8000"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "did you mean") || strings.Contains(msg, "prompts: prompts:") {
		t.Errorf("message: %s", msg)
	}
}
