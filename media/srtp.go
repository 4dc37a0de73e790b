package media

import (
	"fmt"
	"strings"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
	"github.com/pion/transport/v5/replaydetector"
)

// SRTPPolicy says whether a stream must, may or must not be encrypted. Its order is its
// strictness: the stricter of two policies (a listener's and a plan's) is max(a, b).
type SRTPPolicy uint8

const (
	// SRTPOff: plain RTP only. An RTP/SAVP stream is not accepted; a=crypto lines on an
	// RTP/AVP stream are ignored. The zero value.
	SRTPOff SRTPPolicy = iota
	// SRTPOptional: SRTP when the far end offers it (an RTP/SAVP stream, or the "best effort"
	// RTP/AVP stream with a=crypto lines), plain RTP otherwise. An encrypted stream is preferred
	// to a plain one of the same offer.
	SRTPOptional
	// SRTPRequired: SRTP only; an offer without a usable encrypted stream is refused
	// (ErrSRTPRequired).
	SRTPRequired
)

// String is the policy's name: off, optional or required.
func (p SRTPPolicy) String() string {
	switch p {
	case SRTPOptional:
		return "optional"
	case SRTPRequired:
		return "required"
	}
	return "off"
}

// ParseSRTPPolicy reads off, optional or required.
func ParseSRTPPolicy(s string) (SRTPPolicy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "off":
		return SRTPOff, nil
	case "optional":
		return SRTPOptional, nil
	case "required":
		return SRTPRequired, nil
	}
	return SRTPOff, fmt.Errorf("%w: %q (want off, optional or required)", ErrSRTPPolicy, s)
}

// replayWindow is how many packets back the replay detector remembers (RFC 3711 section
// 3.3.2: at least 64).
const replayWindow = 64

// rekeyGrace is how long packets under the previous receive key are still accepted after a
// re-INVITE changed it: the far end switches when it has our answer, and what it sent before
// is in flight. (A variable for the tests only.)
var rekeyGrace = 2 * time.Second

// srtpTx encrypts what a session sends. Only the sender (the scheduler's worker, or the test
// caller's loop) uses it.
type srtpTx struct {
	hdr   rtp.Header // reused: one packet at a time
	ctx   *srtp.Context
	key   *Crypto // the session's copy, zeroed at Close
	suite SRTPSuite
}

func newSRTPTx(key *Crypto) (*srtpTx, error) {
	info := key.Suite.info()
	opts := []srtp.ContextOption{}
	if len(key.MKI) > 0 {
		opts = append(opts, srtp.MasterKeyIndicator(key.MKI))
	}
	ctx, err := srtp.CreateContext(key.Key[:info.keyLen], key.Key[info.keyLen:], info.profile, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCryptoUnsupported, key.Suite, err)
	}
	return &srtpTx{ctx: ctx, key: key, suite: key.Suite}, nil
}

// protect encrypts the RTP packet pkt (header and payload) into dst.
func (t *srtpTx) protect(dst, pkt []byte) ([]byte, error) {
	return t.ctx.EncryptRTP(dst, pkt, &t.hdr)
}

// srtpRx authenticates and decrypts what a session receives. Only the reader uses it.
type srtpRx struct {
	hdr       rtp.Header // reused: one packet at a time
	ctx       *srtp.Context
	key       *Crypto
	prev      *srtpRx // the key a re-INVITE replaced, for rekeyGrace
	prevUntil time.Time
	replay    *replayFlag
	scratch   []byte
}

// replayFlag tells the reader that pion refused a packet as a replay rather than for its tag.
type replayFlag struct{ hit bool }

// flaggedDetector is pion's sliding window, noting each refusal in a replayFlag.
type flaggedDetector struct {
	inner replaydetector.ReplayDetector
	ca    replaydetector.CheckAccepter
	flag  *replayFlag
}

func (d *flaggedDetector) Check(seq uint64) (func() bool, bool) {
	accept, ok := d.inner.Check(seq)
	if !ok {
		d.flag.hit = true
	}
	return accept, ok
}

func (d *flaggedDetector) CheckSeq(seq uint64) replaydetector.Token {
	tok := d.ca.CheckSeq(seq)
	if !tok.Passed() {
		d.flag.hit = true
	}
	return tok
}

func (d *flaggedDetector) Accept(tok replaydetector.Token) bool { return d.ca.Accept(tok) }

// maxSRTPIndex is the largest SRTP packet index (48 bits: ROC and sequence number).
const maxSRTPIndex = 1<<48 - 1

func newSRTPRx(key *Crypto) (*srtpRx, error) {
	info := key.Suite.info()
	flag := &replayFlag{}
	opts := []srtp.ContextOption{srtp.SRTPReplayDetectorFactory(func() replaydetector.ReplayDetector {
		inner := replaydetector.New(replayWindow, maxSRTPIndex)
		ca, _ := inner.(replaydetector.CheckAccepter)
		return &flaggedDetector{inner: inner, ca: ca, flag: flag}
	})}
	if len(key.MKI) > 0 {
		opts = append(opts, srtp.MasterKeyIndicator(key.MKI))
	}
	ctx, err := srtp.CreateContext(key.Key[:info.keyLen], key.Key[info.keyLen:], info.profile, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCryptoUnsupported, key.Suite, err)
	}
	return &srtpRx{ctx: ctx, key: key, replay: flag, scratch: make([]byte, 0, 512)}, nil
}

// unprotect authenticates and decrypts buf in place and returns the plain packet. The error
// is ErrSRTPReplay for a packet already seen (or older than the window) and ErrSRTPAuth for
// one that fails authentication (a wrong key, a tampered or forged packet).
func (r *srtpRx) unprotect(buf []byte) ([]byte, error) {
	tryPrev := r.prev != nil && time.Now().Before(r.prevUntil) // the clock is read only while a re-key is fresh
	if tryPrev {
		// A failed in-place decryption may leave buf changed: keep the ciphertext for the
		// previous key.
		r.scratch = append(r.scratch[:0], buf...)
	}
	out, err := r.decrypt(buf)
	if err == nil || !tryPrev {
		return out, err
	}
	copy(buf, r.scratch)
	if out, perr := r.prev.decrypt(buf); perr == nil {
		return out, nil
	}
	return nil, err
}

func (r *srtpRx) decrypt(buf []byte) ([]byte, error) {
	r.replay.hit = false
	out, err := r.ctx.DecryptRTP(buf, buf, &r.hdr)
	if err == nil {
		return out, nil
	}
	if r.replay.hit {
		return nil, ErrSRTPReplay
	}
	return nil, ErrSRTPAuth
}

// zero overwrites the keys this receiver (and the one it replaced) holds.
func (r *srtpRx) zero() {
	for ; r != nil; r = r.prev {
		r.key.Zero()
		clear(r.scratch)
	}
}

// SRTP protects one RTP stream with SDES keys: what is sent is encrypted with the local key,
// what arrives is authenticated and decrypted with the remote key (RFC 3711). Protect is for
// one sending goroutine and Unprotect for one receiving goroutine; they may run at once. The
// test caller uses it; a Session keeps its own, re-keyed by SetParams.
type SRTP struct {
	tx *srtpTx
	rx *srtpRx
}

// NewSRTP makes the two directions from the local key (ours, sent in our SDP) and the remote
// key (the far end's). It keeps copies of both; Zero overwrites them.
func NewSRTP(local, remote *Crypto) (*SRTP, error) {
	if local == nil || remote == nil || local.Err != nil || remote.Err != nil {
		return nil, fmt.Errorf("%w: a usable local and remote key are needed", ErrCryptoUnsupported)
	}
	if local.Suite != remote.Suite {
		return nil, fmt.Errorf("%w: local %s, remote %s", ErrCryptoMismatch, local.Suite, remote.Suite)
	}
	tx, err := newSRTPTx(local.clone())
	if err != nil {
		return nil, err
	}
	rx, err := newSRTPRx(remote.clone())
	if err != nil {
		tx.key.Zero()
		return nil, err
	}
	return &SRTP{tx: tx, rx: rx}, nil
}

// Suite is the stream's crypto suite.
func (s *SRTP) Suite() SRTPSuite { return s.tx.suite }

// Protect encrypts the RTP packet pkt into dst (grown when it lacks the room for the tag).
func (s *SRTP) Protect(dst, pkt []byte) ([]byte, error) { return s.tx.protect(dst, pkt) }

// Unprotect authenticates and decrypts the SRTP packet in buf, in place, and returns the RTP
// packet. The error wraps ErrSRTPAuth or ErrSRTPReplay.
func (s *SRTP) Unprotect(buf []byte) ([]byte, error) { return s.rx.unprotect(buf) }

// Zero overwrites both keys. The SRTP must not be used afterwards.
func (s *SRTP) Zero() {
	s.tx.key.Zero()
	s.rx.zero()
}
