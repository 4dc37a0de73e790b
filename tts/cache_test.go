package tts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paybridge/paybridge/internal/testlog"
)

// fakeEngine renders a request to a tone whose length depends on its key, counting renders.
type fakeEngine struct {
	id    string
	calls atomic.Int64
	delay time.Duration
	fail  error
}

func (f *fakeEngine) ID() string { return f.id }

func (f *fakeEngine) Render(ctx context.Context, req Request) (*Audio, error) {
	f.calls.Add(1)
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if f.fail != nil {
		return nil, f.fail
	}
	return fakeAudio(req), nil
}

func fakeAudio(req Request) *Audio {
	n, _ := req.Normalize()
	k := n.Key("fake")
	pcm := make([]int16, 800+int(k[0])*10)
	for i := range pcm {
		pcm[i] = int16((i%16 - 8) * 1000)
	}
	pcm[0] = int16(k[1]) // tells requests apart
	return &Audio{Samples: pcm}
}

func TestCacheServesHitsWithoutTheEngine(t *testing.T) {
	dir := t.TempDir()
	c, err := OpenCache(CacheConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{id: "fake"}
	r := c.Wrap(eng)
	ctx := context.Background()
	req := Text("en-GB", "Your balance is")
	a, err := r.Render(ctx, req)
	if err != nil || eng.calls.Load() != 1 {
		t.Fatalf("first render: %v, %d engine calls", err, eng.calls.Load())
	}
	// The same request in another spelling is the same entry.
	b, err := r.Render(ctx, Request{Segments: []Segment{{Text: "Your balance is"}}, Language: "en-gb", Rate: DefaultRate})
	if err != nil || eng.calls.Load() != 1 || &a.Samples[0] != &b.Samples[0] {
		t.Fatalf("memory hit: %v, %d engine calls", err, eng.calls.Load())
	}
	// Another process (another Cache on the directory) reads the file.
	c2, err := OpenCache(CacheConfig{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	eng2 := &fakeEngine{id: "fake"}
	d, err := c2.Wrap(eng2).Render(ctx, req)
	if err != nil || eng2.calls.Load() != 0 || !slices.Equal(d.Samples, a.Samples) {
		t.Fatalf("disk hit: %v, %d engine calls", err, eng2.calls.Load())
	}
	if !c2.Has("fake", req) || c2.Has("other", req) || c2.Has("fake", Text("en-GB", "nope")) {
		t.Fatal("Has")
	}
	st := c2.Stats()
	if st.DiskHits != 1 || st.Renders != 0 || st.Bytes != int64(44+2*len(a.Samples)) {
		t.Fatalf("stats %+v", st)
	}
	// Another engine, rate or voice is another entry.
	for _, other := range []Request{{Text: "Your balance is", Rate: 200}, {Text: "Your balance is", Voice: "en-us"}} {
		if _, err := r.Render(ctx, other); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Render(ctx, "fake2", eng, req); err != nil || eng.calls.Load() != 4 {
		t.Fatalf("other engine: %v, %d calls", err, eng.calls.Load())
	}
	// Errors are not cached, and bad requests never reach the engine.
	bad := &fakeEngine{id: "bad", fail: fmt.Errorf("%w: down", ErrEngine)}
	for i := 0; i < 2; i++ {
		if _, err := c.Wrap(bad).Render(ctx, req); !errors.Is(err, ErrEngine) {
			t.Fatal(err)
		}
	}
	if _, err := c.Wrap(bad).Render(ctx, Request{Segments: []Segment{{SayAs: SayDigits, Text: "x"}}}); !errors.Is(err, ErrSayAs) || bad.calls.Load() != 2 {
		t.Fatalf("bad request: %v, %d calls", err, bad.calls.Load())
	}
	// Files are private: rendered text may be a caller's balance.
	_ = filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if p == dir {
			return nil
		}
		info, _ := de.Info()
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v", p, perm)
		}
		return nil
	})
}

func TestCacheOneRenderPerKeyAcrossGoroutines(t *testing.T) {
	c, err := OpenCache(CacheConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{id: "fake", delay: 50 * time.Millisecond}
	r := c.Wrap(eng)
	var wg sync.WaitGroup
	results := make([]*Audio, 32)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := r.Render(context.Background(), Text("en-GB", fmt.Sprint("prompt ", i%4)))
			if err != nil {
				t.Error(err)
			}
			results[i] = a
		}()
	}
	wg.Wait()
	if n := eng.calls.Load(); n != 4 {
		t.Fatalf("%d engine calls for 4 distinct requests", n)
	}
	for i, a := range results {
		if !slices.Equal(a.Samples, fakeAudio(Text("en-GB", fmt.Sprint("prompt ", i%4))).Samples) {
			t.Fatalf("result %d is another request's audio", i)
		}
	}
	// A waiter whose own context ends stops waiting; the render goes on for the others.
	slow := &fakeEngine{id: "slow", delay: 300 * time.Millisecond}
	done := make(chan error, 1)
	go func() { _, err := c.Wrap(slow).Render(context.Background(), Text("en-GB", "slow")); done <- err }()
	for slow.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := c.Wrap(slow).Render(ctx, Text("en-GB", "slow")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("waiter: %v", err)
	}
	if err := <-done; err != nil || slow.calls.Load() != 1 {
		t.Fatalf("render: %v, %d calls", err, slow.calls.Load())
	}
}

func TestCacheReplacesUnreadableEntries(t *testing.T) {
	dir := t.TempDir()
	var logs testlog.Buffer
	c, err := OpenCache(CacheConfig{Dir: dir, MemoryBytes: -1, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{id: "fake"}
	req := Text("en-GB", "hello")
	a, _ := c.Wrap(eng).Render(context.Background(), req)
	n, _ := req.Normalize()
	p := c.path(n.Key("fake"))
	data, _ := os.ReadFile(p)
	if err := os.WriteFile(p, data[:len(data)/2], 0o600); err != nil { // a torn write
		t.Fatal(err)
	}
	b, err := c.Wrap(eng).Render(context.Background(), req)
	if err != nil || eng.calls.Load() != 2 || !slices.Equal(a.Samples, b.Samples) {
		t.Fatalf("after a torn file: %v, %d calls", err, eng.calls.Load())
	}
	if !strings.Contains(logs.String(), "unreadable entry removed") {
		t.Fatalf("no warning: %s", logs.String())
	}
	if got, _ := os.ReadFile(p); len(got) != len(data) {
		t.Fatalf("entry not rewritten: %d bytes", len(got))
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	dir := t.TempDir()
	const max = 40_000
	quiet := slog.New(slog.DiscardHandler)
	c, err := OpenCache(CacheConfig{Dir: dir, MaxBytes: max, MemoryBytes: -1, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{id: "fake"}
	r := c.Wrap(eng)
	ctx := context.Background()
	keep := Text("en-GB", "keep me")
	for i := 0; i < 40; i++ {
		if _, err := r.Render(ctx, Text("en-GB", fmt.Sprint("entry ", i))); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Render(ctx, keep); err != nil { // used all the time: never the oldest
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond) // distinct modification times
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.evicting.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	_, total := c.scan()
	if total > max || c.Stats().Evicted == 0 {
		t.Fatalf("%d bytes on disk (max %d), %d evicted", total, max, c.Stats().Evicted)
	}
	if !c.Has("fake", keep) {
		t.Fatal("the most recently used entry was evicted")
	}
	if c.Has("fake", Text("en-GB", "entry 0")) {
		t.Fatal("the least recently used entry survived")
	}
	// Opening over an oversized directory trims it too.
	c2, err := OpenCache(CacheConfig{Dir: dir, MaxBytes: max / 4, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, total := c2.scan(); total > max/4 {
		t.Fatalf("open left %d bytes (max %d)", total, max/4)
	}
}

func TestCacheRefusesUnusableDirectory(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, nil, 0o600)
	for _, dir := range []string{"", f, filepath.Join(f, "sub")} {
		if _, err := OpenCache(CacheConfig{Dir: dir}); !errors.Is(err, ErrCache) {
			t.Errorf("%q: %v", dir, err)
		}
	}
}

// Processes sharing a directory: each writes whole files by rename, so none ever reads a
// partial entry, and every entry on disk is whole.
func TestCacheSharedByProcesses(t *testing.T) {
	if dir := os.Getenv("PAYBRIDGE_TTS_CACHE_CHILD"); dir != "" {
		c, err := OpenCache(CacheConfig{Dir: dir, MemoryBytes: -1})
		if err != nil {
			fmt.Println("child:", err)
			os.Exit(1)
		}
		for round := 0; round < 20; round++ {
			for i := 0; i < 10; i++ {
				req := Text("en-GB", fmt.Sprint("shared ", i))
				a, err := c.Wrap(&fakeEngine{id: "fake"}).Render(context.Background(), req)
				if err != nil || !slices.Equal(a.Samples, fakeAudio(req).Samples) {
					fmt.Println("child: wrong audio:", err)
					os.Exit(1)
				}
				if round%2 == 0 { // keep rewriting the same keys to race the readers
					if err := c.store(mustKey(req), fakeAudio(req)); err != nil {
						fmt.Println("child:", err)
						os.Exit(1)
					}
				}
			}
		}
		os.Exit(0)
	}
	dir := t.TempDir()
	var cmds []*exec.Cmd
	for i := 0; i < 3; i++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCacheSharedByProcesses$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PAYBRIDGE_TTS_CACHE_CHILD="+dir)
		cmds = append(cmds, cmd)
	}
	outs := make([][]byte, len(cmds))
	errs := make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, cmd := range cmds {
		wg.Add(1)
		go func() { defer wg.Done(); outs[i], errs[i] = cmd.CombinedOutput() }()
	}
	wg.Wait()
	for i := range cmds {
		if errs[i] != nil {
			t.Fatalf("child %d: %v\n%s", i, errs[i], outs[i])
		}
	}
	files, _ := (&Cache{dir: dir}).scan()
	if len(files) != 10 {
		t.Fatalf("%d entries, want 10", len(files))
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*", ".tmp-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func mustKey(r Request) string {
	n, err := r.Normalize()
	if err != nil {
		panic(err)
	}
	return n.Key("fake")
}

func TestPrerender(t *testing.T) {
	c, err := OpenCache(CacheConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	eng := &fakeEngine{id: "fake"}
	reqs := []Request{Text("en-GB", "one"), {Segments: []Segment{{SayAs: SayDigits, Text: "1x"}}}, Text("es-ES", "dos"), Text("fr-FR", "trois")}
	out, err := Prerender(context.Background(), c.Wrap(eng), reqs)
	if !errors.Is(err, ErrSayAs) || !errors.Is(err, ErrLanguage) || !strings.Contains(err.Error(), "request 1:") || !strings.Contains(err.Error(), "request 3:") {
		t.Fatalf("errors: %v", err)
	}
	if out[0] == nil || out[1] != nil || out[2] == nil || out[3] != nil {
		t.Fatalf("audio: %v", out)
	}
	if !c.Has("fake", reqs[0]) || !c.Has("fake", reqs[2]) || eng.calls.Load() != 2 {
		t.Fatalf("not cached: %d calls", eng.calls.Load())
	}
}
