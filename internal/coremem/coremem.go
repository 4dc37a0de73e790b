// Package coremem takes a core image of a running process with gcore and searches it for a
// payment card: the tests' proof that card data does not stay in paybridge's memory
// (docs/gateway.md, "Card data in memory"). It is used by tests only.
//
// A scan reads every readable PT_LOAD segment and the PT_NOTE segments (thread registers) of
// the ELF core — each note on its own, so that a hit names the register set and thread — and
// looks for:
//
//   - "pan": the whole card number as ASCII, UTF-16LE, UTF-16BE, raw digit values (0–9, as
//     RFC 4733 event codes carry them) and packed BCD;
//   - "pan8": every run of 8 consecutive digits of the number, as ASCII and UTF-16LE;
//   - "expiry+cvv": the security code next to the expiry — the 4-digit year, MMYY or MM/YY, with
//     nothing but non-digits (and at most the 2-digit month) between them, in either order, as
//     every connector's request body and the keypad entry put them.
//
// ScanProcess searches the writable memory of a running process the same way, through
// /proc/PID/mem (no registers), fast enough for a test to loop a path many times.
//
// Hits are reported with their file offset, the virtual address, where in the image they lie
// (Hit.Where: "memory", or the register note and thread, e.g. "NT_X86_XSTATE thread 3 (LWP
// 4242)") and a context in which every digit is shown as '#', so a test log never prints the
// card it looks for.
package coremem

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// Card is what a scan looks for.
type Card struct {
	PAN      string // digits only
	CVV      string // digits only, 3 or 4
	ExpMonth int    // 1–12
	ExpYear  int    // four digits
}

// Hit is one place the card was found.
type Hit struct {
	Card     int    // index of the card (in Scan's arguments) found
	Kind     string // pan, pan8, expiry+cvv
	Encoding string // ascii, utf16le, utf16be, digits, bcd
	Offset   int64  // in the core file
	Addr     uint64 // virtual address in the process (in a note: the offset in the note)
	Where    string // "memory", or the note and thread holding registers (InRegisters)
	Context  string // the surroundings, digits masked
}

func (h Hit) String() string {
	if h.InRegisters() {
		return fmt.Sprintf("card %d: %s (%s) in the registers of %s, core offset %#x: %q", h.Card, h.Kind, h.Encoding, h.Where, h.Offset, h.Context)
	}
	return fmt.Sprintf("card %d: %s (%s) at %#x: %q", h.Card, h.Kind, h.Encoding, h.Addr, h.Context)
}

// InRegisters reports whether the hit lies in a note of the core image — a thread's saved
// registers — rather than in the process's memory.
func (h Hit) InRegisters() bool { return h.Where != "" && h.Where != inMemory }

const inMemory = "memory"

// CountWhere returns how many hits lie in registers (regs true) or in memory (false).
func CountWhere(hits []Hit, regs bool) int {
	n := 0
	for _, h := range hits {
		if h.InRegisters() == regs {
			n++
		}
	}
	return n
}

// Count returns how many hits are of kind for card (-1: any card; kind "": any kind).
func Count(hits []Hit, card int, kind string) int {
	n := 0
	for _, h := range hits {
		if (card < 0 || h.Card == card) && (kind == "" || h.Kind == kind) {
			n++
		}
	}
	return n
}

// Dump writes a core image of the running process pid into dir with gcore (Debian package
// gdb) and returns its path. The process is stopped only while the image is written.
func Dump(pid int, dir string) (string, error) {
	gcore, err := exec.LookPath("gcore")
	if err != nil {
		return "", fmt.Errorf("coremem: gcore not found (install the Debian package gdb: make deps): %w", err)
	}
	prefix := filepath.Join(dir, "core")
	out, err := exec.Command(gcore, "-o", prefix, strconv.Itoa(pid)).CombinedOutput()
	path := prefix + "." + strconv.Itoa(pid)
	if _, serr := os.Stat(path); err != nil || serr != nil {
		return "", fmt.Errorf("coremem: gcore %d: %v %v\n%s", pid, err, serr, out)
	}
	return path, nil
}

// needle is one byte pattern of a scan.
type needle struct {
	card      int
	kind, enc string
	b         []byte
}

func needles(card int, c Card) []needle {
	pan := []byte(c.PAN)
	ns := []needle{
		{card, "pan", "ascii", pan},
		{card, "pan", "utf16le", utf16(pan, false)},
		{card, "pan", "utf16be", utf16(pan, true)},
		{card, "pan", "digits", rawDigits(pan)},
	}
	if len(pan)%2 == 0 {
		ns = append(ns, needle{card, "pan", "bcd", bcd(pan)})
	}
	for i := 0; i+8 <= len(pan); i++ {
		w := pan[i : i+8]
		ns = append(ns, needle{card, "pan8", "ascii", w}, needle{card, "pan8", "utf16le", utf16(w, false)})
	}
	return ns
}

func utf16(b []byte, be bool) []byte {
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		if be {
			out = append(out, 0, c)
		} else {
			out = append(out, c, 0)
		}
	}
	return out
}

func rawDigits(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c - '0'
	}
	return out
}

func bcd(b []byte) []byte {
	out := make([]byte, len(b)/2)
	for i := range out {
		out[i] = (b[2*i]-'0')<<4 | (b[2*i+1] - '0')
	}
	return out
}

// chunk is how much of a segment is searched at once; overlap carries the end of one chunk
// into the next so that no pattern is missed at a boundary.
const (
	chunk     = 8 << 20  // of a core image
	procChunk = 64 << 10 // of a live process's memory, mostly zero pages
	overlap   = 256
)

// Scan searches the core image at path for each of cards.
func Scan(path string, cards ...Card) ([]Hit, error) {
	sc, err := newScanner(cards, chunk)
	if err != nil {
		return nil, err
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("coremem: %s is not an ELF core: %w", path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_CORE {
		return nil, fmt.Errorf("coremem: %s is not a core file", path)
	}
	scanned := 0
	for _, p := range f.Progs {
		readable := p.Type == elf.PT_LOAD && p.Flags&elf.PF_R != 0
		if (!readable && p.Type != elf.PT_NOTE) || p.Filesz == 0 {
			continue
		}
		scanned++
		var err error
		if p.Type == elf.PT_NOTE {
			err = sc.notes(p.Open(), int64(p.Off), f.ByteOrder)
		} else {
			sc.where = inMemory
			err = sc.segment(p.Open(), int64(p.Off), p.Vaddr)
		}
		if err != nil {
			return sc.hits, fmt.Errorf("coremem: reading %s: %w", path, err)
		}
	}
	if scanned == 0 {
		return nil, fmt.Errorf("coremem: %s has no readable memory segment", path)
	}
	return sc.hits, nil
}

// ScanProcess searches the writable memory of the running process pid (its heap, goroutine
// and thread stacks, signal stacks, the runtime's own areas) for each of cards, reading
// /proc/PID/mem while the process is stopped (SIGSTOP, then SIGCONT). It is much faster than
// Dump and Scan, for tests that loop a path many times, but sees no thread registers and no
// read-only mapping; Hit.Offset is the address, as Hit.Addr. The caller may read another
// process's memory (root, or its parent under the default ptrace scope).
func ScanProcess(pid int, cards ...Card) ([]Hit, error) {
	sc, err := newScanner(cards, procChunk)
	if err != nil {
		return nil, err
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return nil, fmt.Errorf("coremem: stopping %d: %w", pid, err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		return nil, fmt.Errorf("coremem: %w", err)
	}
	mem, err := os.Open(fmt.Sprintf("/proc/%d/mem", pid))
	if err != nil {
		return nil, fmt.Errorf("coremem: %w", err)
	}
	defer mem.Close()
	scanned := 0
	for _, line := range strings.Split(string(maps), "\n") {
		// 7f0c3a000000-7f0c3a021000 rw-p 00000000 00:00 0   [heap]
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[1], "rw") {
			continue
		}
		lo, hi, _ := strings.Cut(f[0], "-")
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start || (len(f) > 5 && f[5] == "[vvar]") {
			continue
		}
		scanned++
		sc.where = inMemory
		r := io.NewSectionReader(mem, int64(start), int64(end-start))
		if err := sc.segment(r, int64(start), start); err != nil && !errors.Is(err, syscall.EIO) {
			return sc.hits, fmt.Errorf("coremem: reading %d's memory at %#x: %w", pid, start, err)
		}
	}
	if scanned == 0 {
		return nil, fmt.Errorf("coremem: process %d has no writable mapping", pid)
	}
	return sc.hits, nil
}

// scanner holds the needles of one scan and its hits.
type scanner struct {
	ns    []needle
	pairs []*pairMatcher
	hits  []Hit
	buf   []byte
	where string // Hit.Where of the segment being scanned
}

// Note types of a Linux core that hold a thread's registers (linux/elf.h).
var noteNames = map[uint32]string{
	1:     "NT_PRSTATUS",   // general-purpose registers
	2:     "NT_FPREGSET",   // x87/SSE state (FXSAVE: X0–X15)
	0x202: "NT_X86_XSTATE", // XSAVE: X, Y and Z registers
	0x400: "NT_ARM_VFP",
	0x405: "NT_ARM_SVE",
}

// notes scans each note of the PT_NOTE segment read from r (at offset off of the image) on
// its own, naming it and the thread it belongs to: a core holds one NT_PRSTATUS per thread,
// followed by that thread's other register notes.
func (sc *scanner) notes(r io.Reader, off int64, bo binary.ByteOrder) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	thread, lwp := 0, uint32(0)
	for pos := 0; pos+12 <= len(data); {
		namesz, descsz, typ := bo.Uint32(data[pos:]), bo.Uint32(data[pos+4:]), bo.Uint32(data[pos+8:])
		desc := pos + 12 + align4(int(namesz))
		end := desc + align4(int(descsz))
		if desc > len(data) || desc+int(descsz) > len(data) || end < desc {
			return fmt.Errorf("a note at %#x overruns its segment", off+int64(pos))
		}
		name, ok := noteNames[typ]
		if !ok {
			name = fmt.Sprintf("note type %#x", typ)
		}
		if typ == 1 { // NT_PRSTATUS: a new thread; pr_pid follows siginfo, cursig, sigpend, sighold
			thread++
			if descsz >= 36 {
				lwp = bo.Uint32(data[desc+32:])
			}
		}
		switch {
		case typ == 1 || (thread > 0 && ok):
			sc.where = fmt.Sprintf("%s thread %d (LWP %d)", name, thread, lwp)
		default:
			sc.where = name
		}
		if err := sc.segment(bytes.NewReader(data[desc:desc+int(descsz)]), off+int64(desc), 0); err != nil {
			return err
		}
		pos = end
	}
	return nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// newScanner prepares a scan for cards that reads chunkSize bytes at a time (all-zero chunks
// are skipped: the smaller they are, the more of a process's memory is skipped).
func newScanner(cards []Card, chunkSize int) (*scanner, error) {
	sc := &scanner{buf: make([]byte, chunkSize+overlap)}
	for i, c := range cards {
		if len(c.PAN) < 12 || len(c.CVV) < 3 || c.ExpMonth < 1 || c.ExpYear < 1000 {
			return nil, fmt.Errorf("coremem: card %d to look for is incomplete", i)
		}
		sc.ns = append(sc.ns, needles(i, c)...)
		sc.pairs = append(sc.pairs, newPairMatcher(c))
	}
	return sc, nil
}

// segment scans one segment read from r, which starts at offset off of the image and at
// virtual address vaddr, in chunks that overlap so that no match is cut in two.
func (sc *scanner) segment(r io.Reader, off int64, vaddr uint64) error {
	buf := sc.buf
	var base int64 // segment offset of buf[0]
	carry := 0
	for {
		n, err := io.ReadFull(r, buf[carry:])
		data := buf[:carry+n]
		final := err != nil
		limit := len(data) - overlap // matches starting at or after limit are found next round
		if final {
			limit = len(data)
		}
		at := func(i int) (int64, uint64) {
			return off + base + int64(i), vaddr + uint64(base) + uint64(i)
		}
		if !zero(data) {
			sc.search(data, limit, at)
		}
		if final {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				return err
			}
			return nil
		}
		carry = copy(buf, data[limit:])
		base += int64(limit)
	}
}

// zero reports whether b holds only zero bytes (most of a process's mapped memory): nothing
// starts a match there.
func zero(b []byte) bool {
	var z [4096]byte
	for len(b) > 0 {
		n := min(len(b), len(z))
		if !bytes.Equal(b[:n], z[:n]) {
			return false
		}
		b = b[n:]
	}
	return true
}

// search records the matches that start in data[:limit].
func (sc *scanner) search(data []byte, limit int, at func(int) (int64, uint64)) {
	for _, nd := range sc.ns {
		for i := 0; ; {
			j := bytes.Index(data[i:], nd.b)
			if j < 0 || i+j >= limit {
				break
			}
			o, addr := at(i + j)
			sc.hits = append(sc.hits, Hit{Card: nd.card, Kind: nd.kind, Encoding: nd.enc, Offset: o, Addr: addr, Where: sc.where, Context: masked(data, i+j, len(nd.b))})
			i += j + 1
		}
	}
	for card, pair := range sc.pairs {
		for _, m := range pair.find(data, limit) {
			o, addr := at(m[0])
			sc.hits = append(sc.hits, Hit{Card: card, Kind: "expiry+cvv", Encoding: "ascii", Offset: o, Addr: addr, Where: sc.where, Context: masked(data, m[0], m[1]-m[0])})
		}
	}
}

// masked is the bytes around data[i:i+n], printable ASCII kept, digits as '#', the rest '.'.
func masked(data []byte, i, n int) string {
	const around = 40
	lo, hi := max(0, i-around), min(len(data), i+n+around)
	var b strings.Builder
	for k := lo; k < hi; k++ {
		if k == i {
			b.WriteString("«")
		}
		switch c := data[k]; {
		case c >= '0' && c <= '9':
			b.WriteByte('#')
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			b.WriteByte('.')
		}
		if k == i+n-1 {
			b.WriteString("»")
		}
	}
	return b.String()
}

// pairMatcher finds the security code next to the expiry.
type pairMatcher struct {
	cvv     []byte
	expiry  [][]byte // YYYY, MMYY, MM/YY
	month   []byte   // MM
	maxDist int
}

func newPairMatcher(c Card) *pairMatcher {
	yyyy := fmt.Sprintf("%04d", c.ExpYear)
	mm := fmt.Sprintf("%02d", c.ExpMonth)
	return &pairMatcher{
		cvv:     []byte(c.CVV),
		expiry:  [][]byte{[]byte(yyyy), []byte(mm + yyyy[2:]), []byte(mm + "/" + yyyy[2:])},
		month:   []byte(mm),
		maxDist: 40,
	}
}

// find returns [start, end) of each expiry+cvv pair starting before limit.
func (m *pairMatcher) find(data []byte, limit int) [][2]int {
	var out [][2]int
	for i := 0; ; {
		j := bytes.Index(data[i:], m.cvv)
		if j < 0 {
			break
		}
		s, e := i+j, i+j+len(m.cvv)
		i = s + 1
		if s >= limit+m.maxDist || !boundary(data, s, e) {
			continue
		}
		if ps := m.before(data, s); ps >= 0 && ps < limit {
			out = append(out, [2]int{ps, e})
			continue
		}
		if pe := m.after(data, e); pe >= 0 && s < limit {
			out = append(out, [2]int{s, pe})
		}
	}
	return out
}

// boundary reports whether data[s:e] is not part of a longer digit run.
func boundary(data []byte, s, e int) bool {
	return (s == 0 || !isDigit(data[s-1])) && (e == len(data) || !isDigit(data[e]))
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// before looks for an expiry ending within maxDist non-digits before s (a month may sit between
// them); it returns the expiry's start or -1.
func (m *pairMatcher) before(data []byte, s int) int {
	k := s
	for gap := 0; k > 0 && gap < m.maxDist && !isDigit(data[k-1]); gap++ {
		k--
	}
	if k == s {
		return -1
	}
	for _, ex := range m.expiry {
		if k >= len(ex) && bytes.Equal(data[k-len(ex):k], ex) && boundary(data, k-len(ex), k) {
			return k - len(ex)
		}
	}
	return -1
}

// after looks for an expiry starting within maxDist non-digits after e, optionally behind the
// month; it returns the expiry's end or -1.
func (m *pairMatcher) after(data []byte, e int) int {
	k := e
	for gap := 0; k < len(data) && gap < m.maxDist && !isDigit(data[k]); gap++ {
		k++
	}
	if k == e {
		return -1
	}
	for _, ex := range m.expiry {
		if bytes.HasPrefix(data[k:], ex) && boundary(data, k, k+len(ex)) {
			return k + len(ex)
		}
	}
	if bytes.HasPrefix(data[k:], m.month) && boundary(data, k, k+len(m.month)) {
		return m.after(data, k+len(m.month))
	}
	return -1
}

// RandomCard returns a Luhn-valid 16-digit Visa number with a random expiry one to eight years
// ahead and a random 3-digit security code: a card that appears nowhere in any binary, so that
// every hit of a scan is a copy the process made. It is drawn so that what a process may
// rightly hold cannot make a hit by sitting side by side:
//
//   - the code is 700–999, above every HTTP and SIP status code: a status line ("200 OK")
//     followed within a few bytes by a number equal to the expiry is not a code beside the expiry;
//   - no four digits of the number are its expiry year or MMYY: the year and the last four, both
//     allowed in memory (a provider's record, every masked number), are small strings that Go's
//     allocator packs next to each other ("2031" then "6734"), which would be the number's last
//     eight digits whenever its 9th–12th digits were the year.
func RandomCard() Card {
	for {
		c := Card{PAN: randomVisa(), CVV: strconv.Itoa(700 + rand.IntN(300)),
			ExpMonth: 1 + rand.IntN(12), ExpYear: time.Now().Year() + 1 + rand.IntN(8)}
		yyyy := strconv.Itoa(c.ExpYear)
		mmyy := fmt.Sprintf("%02d%s", c.ExpMonth, yyyy[2:])
		if !strings.Contains(c.PAN, yyyy) && !strings.Contains(c.PAN, mmyy) {
			return c
		}
	}
}

// randomVisa returns a Luhn-valid 16-digit number starting with 4.
func randomVisa() string {
	d := make([]byte, 16)
	d[0] = '4'
	for i := 1; i < 15; i++ {
		d[i] = '0' + byte(rand.IntN(10))
	}
	d[15] = pan.CheckDigit(d[:15])
	return string(d)
}
