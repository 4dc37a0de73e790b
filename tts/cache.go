package tts

import (
	"bytes"
	"container/list"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paybridge/paybridge/internal/audiofile"
)

// CacheConfig configures a Cache.
type CacheConfig struct {
	// Dir holds the rendered audio, one 8 kHz mono WAV per request (<key[:2]>/<key>.wav). It is
	// created (0700) if missing. Several processes may share it.
	Dir string
	// MaxBytes bounds the files in Dir; past it the least recently used are deleted down to
	// 80 %. 0 means 256 MiB.
	MaxBytes int64
	// MemoryBytes bounds the most recently used audio kept decoded in memory, so that a hot
	// prompt costs no file read. 0 means 32 MiB; negative turns the memory tier off.
	MemoryBytes int64
	// Logger receives evictions and unreadable entries (default slog.Default()).
	Logger *slog.Logger
}

// CacheStats counts what a Cache has done since it was opened.
type CacheStats struct {
	MemoryHits int64 // served from memory
	DiskHits   int64 // served from a file
	Renders    int64 // rendered by the engine (misses)
	Shared     int64 // waited for a render another goroutine had started
	Evicted    int64 // files deleted to stay under MaxBytes
	Bytes      int64 // bytes of files this process believes are in Dir
}

// Cache keeps rendered speech on disk by Request.Key(engine ID), so that a request is
// rendered once and then served without running the engine — across calls, restarts and
// processes sharing the directory. It is safe for concurrent use: one render per key at a
// time in a process (others wait for it), files written to a temporary name and renamed into
// place so that readers in any process see a whole file or none, and a file that cannot be
// read is treated as a miss and replaced.
type Cache struct {
	dir      string
	max      int64
	log      *slog.Logger
	bytes    atomic.Int64
	evicting atomic.Bool

	mu      sync.Mutex
	flights map[string]*flight
	mem     *memory

	memHits, diskHits, renders, shared, evicted atomic.Int64
}

type flight struct {
	done  chan struct{}
	audio *Audio
	err   error
}

// OpenCache opens (creating) the cache directory and counts what is in it.
func OpenCache(cfg CacheConfig) (*Cache, error) {
	if cfg.Dir == "" {
		return nil, fmt.Errorf("%w: no directory", ErrCache)
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = 256 << 20
	}
	if cfg.MemoryBytes == 0 {
		cfg.MemoryBytes = 32 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCache, err)
	}
	probe, err := os.CreateTemp(cfg.Dir, ".probe-*")
	if err != nil {
		return nil, fmt.Errorf("%w: %s is not writable: %w", ErrCache, cfg.Dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	c := &Cache{dir: cfg.Dir, max: cfg.MaxBytes, log: cfg.Logger, flights: map[string]*flight{}}
	if cfg.MemoryBytes > 0 {
		c.mem = newMemory(cfg.MemoryBytes)
	}
	files, total := c.scan()
	c.bytes.Store(total)
	if total > c.max {
		c.evict(files, total)
	}
	return c, nil
}

// Stats returns the cache's counters.
func (c *Cache) Stats() CacheStats {
	return CacheStats{MemoryHits: c.memHits.Load(), DiskHits: c.diskHits.Load(), Renders: c.renders.Load(),
		Shared: c.shared.Load(), Evicted: c.evicted.Load(), Bytes: c.bytes.Load()}
}

// Wrap returns a Renderer that serves engine's renders from the cache, rendering through the
// engine only on a miss. Several engines may share one Cache: their IDs keep them apart.
func (c *Cache) Wrap(engine Engine) Renderer {
	return RenderFunc(func(ctx context.Context, req Request) (*Audio, error) {
		return c.Render(ctx, engine.ID(), engine, req)
	})
}

// Render returns req's audio from the cache, or renders it with r and stores it under
// req.Key(engineID). Errors are not cached.
func (c *Cache) Render(ctx context.Context, engineID string, r Renderer, req Request) (*Audio, error) {
	n, err := req.Normalize()
	if err != nil {
		return nil, err
	}
	key := n.Key(engineID)
	for {
		if a := c.lookup(key); a != nil {
			return a, nil
		}
		c.mu.Lock()
		if f, ok := c.flights[key]; ok {
			c.mu.Unlock()
			c.shared.Add(1)
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			if f.err == nil {
				return f.audio, nil
			}
			if ctx.Err() == nil && (errors.Is(f.err, context.Canceled) || errors.Is(f.err, context.DeadlineExceeded)) {
				continue // the renderer's caller gave up, not this one: render again
			}
			return nil, f.err
		}
		f := &flight{done: make(chan struct{})}
		c.flights[key] = f
		c.mu.Unlock()

		f.audio, f.err = c.fill(ctx, key, r, n)
		c.mu.Lock()
		delete(c.flights, key)
		c.mu.Unlock()
		close(f.done)
		return f.audio, f.err
	}
}

// Has reports whether req (for engineID) is cached, in memory or on disk, without rendering.
func (c *Cache) Has(engineID string, req Request) bool {
	n, err := req.Normalize()
	if err != nil {
		return false
	}
	return c.lookup(n.Key(engineID)) != nil
}

func (c *Cache) path(key string) string { return filepath.Join(c.dir, key[:2], key+".wav") }

func (c *Cache) lookup(key string) *Audio {
	if c.mem != nil {
		if a := c.mem.get(key); a != nil {
			c.memHits.Add(1)
			return a
		}
	}
	p := c.path(key)
	data, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	// Entries are written by store alone: a 44-byte header whose data size is the rest of the
	// file. Anything else — a torn or foreign file — is a miss.
	pcm, info, err := audiofile.ReadWAV(bytes.NewReader(data))
	if err == nil && (info.Encoding != audiofile.PCM16 || len(data) != 44+2*len(pcm) ||
		binary.LittleEndian.Uint32(data[40:44]) != uint32(2*len(pcm))) {
		err = errors.New("size does not match its header")
	}
	if err != nil {
		c.log.Warn("tts cache: unreadable entry removed", "file", p, "err", err)
		os.Remove(p)
		return nil
	}
	now := time.Now()
	_ = os.Chtimes(p, now, now) // least recently used goes first
	c.diskHits.Add(1)
	a := &Audio{Samples: pcm}
	if c.mem != nil {
		c.mem.put(key, a)
	}
	return a
}

func (c *Cache) fill(ctx context.Context, key string, r Renderer, req Request) (*Audio, error) {
	c.renders.Add(1)
	a, err := r.Render(ctx, req)
	if err != nil {
		return nil, err
	}
	if c.mem != nil {
		c.mem.put(key, a)
	}
	if err := c.store(key, a); err != nil {
		// The caller still gets its audio; the next one renders again.
		c.log.Warn("tts cache: entry not stored", "err", err)
	}
	return a, nil
}

// store writes the audio as a WAV under a temporary name in the entry's directory and
// renames it into place.
func (c *Cache) store(key string, a *Audio) error {
	p := c.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	werr := audiofile.WriteWAV(tmp, a.Samples, audiofile.PCM16)
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), p)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return werr
	}
	if total := c.bytes.Add(int64(44 + 2*len(a.Samples))); total > c.max && c.evicting.CompareAndSwap(false, true) {
		go func() {
			defer c.evicting.Store(false)
			files, total := c.scan()
			c.evict(files, total)
		}()
	}
	return nil
}

type cacheFile struct {
	path string
	size int64
	used time.Time
}

// staleTemp is how old a temporary file must be before a scan deletes it as a crashed
// writer's leftover.
const staleTemp = time.Hour

// scan lists the entries of the directory (every process's) and their total size.
func (c *Cache) scan() ([]cacheFile, int64) {
	var files []cacheFile
	var total int64
	_ = filepath.WalkDir(c.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		name := d.Name()
		if strings.HasPrefix(name, ".tmp-") && time.Since(info.ModTime()) > staleTemp {
			os.Remove(p)
			return nil
		}
		if !strings.HasSuffix(name, ".wav") || strings.HasPrefix(name, ".") {
			return nil
		}
		files = append(files, cacheFile{path: p, size: info.Size(), used: info.ModTime()})
		total += info.Size()
		return nil
	})
	return files, total
}

// evict deletes the least recently used files until the total is 80 % of MaxBytes.
func (c *Cache) evict(files []cacheFile, total int64) {
	sort.Slice(files, func(i, j int) bool { return files[i].used.Before(files[j].used) })
	low := c.max * 8 / 10
	n := 0
	for _, f := range files {
		if total <= low {
			break
		}
		if err := os.Remove(f.path); err == nil || errors.Is(err, fs.ErrNotExist) {
			total -= f.size
			n++
		}
	}
	c.bytes.Store(total)
	c.evicted.Add(int64(n))
	if n > 0 {
		c.log.Info("tts cache: evicted least recently used", "files", n, "bytes", total, "max", c.max)
	}
}

// memory is a byte-bounded LRU of decoded audio.
type memory struct {
	mu    sync.Mutex
	max   int64
	bytes int64
	order *list.List // front = most recent; values *memEntry
	byKey map[string]*list.Element
}

type memEntry struct {
	key   string
	audio *Audio
}

func newMemory(max int64) *memory {
	return &memory{max: max, order: list.New(), byKey: map[string]*list.Element{}}
}

func (m *memory) get(key string) *Audio {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byKey[key]
	if !ok {
		return nil
	}
	m.order.MoveToFront(e)
	return e.Value.(*memEntry).audio
}

func (m *memory) put(key string, a *Audio) {
	size := int64(2 * len(a.Samples))
	if size > m.max {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.byKey[key]; ok {
		m.order.MoveToFront(e)
		return
	}
	m.byKey[key] = m.order.PushFront(&memEntry{key: key, audio: a})
	m.bytes += size
	for m.bytes > m.max {
		e := m.order.Back()
		me := e.Value.(*memEntry)
		m.order.Remove(e)
		delete(m.byKey, me.key)
		m.bytes -= int64(2 * len(me.audio.Samples))
	}
}
