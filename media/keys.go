package media

import (
	"fmt"
	"net/netip"
	"time"
)

// A session's SRTP keys. The first SetParams fixes whether the session is encrypted; later
// ones may change the keys (re-keying), never that. Our key for an answer is made here, fresh
// from crypto/rand for each session (and again whenever the far end re-keys); for our own
// offer OfferCryptos makes one per suite and the answer's tag picks the one that stays. Every
// key the session holds — ours, the far end's, the lines of an offer not chosen, a receive key
// replaced by a re-key — is overwritten when it is dropped and at Close.
//
// What cannot be overwritten: the session keys pion/srtp derives inside its cipher state
// (released with the session, not zeroed), and the copies of the SDP text in the signalling
// stack's buffers and strings. Callers zero what they keep: the SessionSDP (Zero) and the SDP
// bodies they built.

const (
	keysUnset int8 = iota
	keysPlain
	keysSRTP
)

// OfferCryptos makes fresh keys for an offer of suites (tagged 1…n, NewOfferCryptos) and
// remembers them: the answer's tag (SetParams) picks the one the session sends with, and the
// others are zeroed. They belong to the session (zeroed at Close); put them in
// LocalMedia.Cryptos for BuildOffer.
func (m *Session) OfferCryptos(list []SRTPSuite) ([]*Crypto, error) {
	cs, err := NewOfferCryptos(list)
	if err != nil {
		return nil, err
	}
	m.keyMu.Lock()
	defer m.keyMu.Unlock()
	for _, c := range m.offered {
		c.Zero()
	}
	m.offered = cs
	return cs, nil
}

// LocalCrypto is our a=crypto line for an answer (the offer's tag and suite, our key) after
// SetParams installed an encrypted stream; nil for plain RTP. It belongs to the session.
func (m *Session) LocalCrypto() *Crypto {
	m.keyMu.Lock()
	defer m.keyMu.Unlock()
	return m.localKey
}

// Suite is the session's SRTP suite; SuiteNone while it is plain RTP (or has no parameters).
func (m *Session) Suite() SRTPSuite {
	if tx := m.tx.Load(); tx != nil {
		return tx.suite
	}
	return SuiteNone
}

// setKeys installs the keys of p (see SetParams) and returns the session's own copy of the
// far end's key (nil for plain RTP), which the stored Params point to.
func (m *Session) setKeys(p Params) (*Crypto, error) {
	m.keyMu.Lock()
	defer m.keyMu.Unlock()
	enc := p.Crypto != nil
	if m.secured == keysPlain && enc || m.secured == keysSRTP && !enc {
		return nil, ErrEncryptionChange
	}
	if !enc {
		m.secured = keysPlain
		m.dropOffered(nil)
		return nil, nil
	}
	remote := p.Crypto
	if remote.Err != nil || remote.Suite == SuiteNone {
		return nil, fmt.Errorf("%w: the chosen a=crypto line is not usable", ErrCryptoUnsupported)
	}
	remoteChanged := !sameKey(m.remoteKey, remote)

	var local *Crypto
	switch {
	case m.offered != nil:
		for _, c := range m.offered {
			if c.Tag == remote.Tag && c.Suite == remote.Suite {
				local = c
			}
		}
		if local == nil {
			return nil, fmt.Errorf("%w: the answer chose tag %d %s", ErrCryptoMismatch, remote.Tag, remote.Suite)
		}
	case m.localKey != nil && m.localKey.Suite == remote.Suite && !remoteChanged:
		local = m.localKey // a re-offer that keeps its key: so do we
	default:
		var err error
		if local, err = NewCrypto(remote.Tag, remote.Suite); err != nil {
			return nil, err
		}
	}
	local.Tag = remote.Tag

	var rx *srtpRx
	if remoteChanged {
		var err error
		if rx, err = newSRTPRx(remote.clone()); err != nil {
			if local != m.localKey && !m.isOffered(local) {
				local.Zero()
			}
			return nil, err
		}
	}
	var tx *srtpTx
	if local != m.localKey {
		var err error
		if tx, err = newSRTPTx(local); err != nil {
			if rx != nil {
				rx.zero()
			}
			return nil, err
		}
	}

	if rx != nil {
		if old := m.rx.Load(); old != nil {
			// The reader may be decrypting with old right now; it alone uses these contexts,
			// one packet after another, so handing old's context on as the grace key is safe.
			// The key before old is no longer tried: overwrite it.
			if old.prev != nil {
				old.prev.key.Zero()
			}
			rx.prev = &srtpRx{ctx: old.ctx, key: old.key, replay: old.replay}
			rx.prevUntil = time.Now().Add(rekeyGrace)
		}
		m.remoteKey = rx.key
		m.rx.Store(rx)
	}
	if tx != nil {
		if m.localKey != nil {
			m.localKey.Zero() // pion keeps its own derived keys; our copy of the old one goes
		}
		m.localKey = local
		m.tx.Store(tx)
	}
	m.dropOffered(local)
	m.secured = keysSRTP
	return m.remoteKey, nil
}

func (m *Session) isOffered(c *Crypto) bool {
	for _, o := range m.offered {
		if o == c {
			return true
		}
	}
	return false
}

// dropOffered zeroes the lines of our offer except keep, and forgets the offer.
func (m *Session) dropOffered(keep *Crypto) {
	for _, c := range m.offered {
		if c != keep {
			c.Zero()
		}
	}
	m.offered = nil
}

// zeroKeys overwrites every key the session holds (Close).
func (m *Session) zeroKeys() {
	m.keyMu.Lock()
	defer m.keyMu.Unlock()
	m.dropOffered(nil)
	if m.localKey != nil {
		m.localKey.Zero()
	}
	if rx := m.rx.Load(); rx != nil {
		rx.zero()
	}
	if m.remoteKey != nil {
		m.remoteKey.Zero()
	}
	clear(m.srtpOut[:])
}

// mayBeMediaPeer is the source rule applied before an SRTP packet is authenticated: a datagram
// from neither the media peer nor a possible NAT latch is foreign (dropped and counted without
// spending a decryption on it).
func (m *Session) mayBeMediaPeer(src netip.AddrPort) bool {
	m.syncSource()
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if m.source.peer.IsValid() && src == m.source.peer || m.source.mayLatch(src, time.Now()) {
		return true
	}
	m.dropped.Add(1)
	m.countForeign(1)
	m.warnForeign(src)
	return false
}

// srtpDropped counts an SRTP packet that failed authentication or was a replay; the first
// failure of the session is logged, never one per packet.
func (m *Session) srtpDropped(err error, src netip.AddrPort) {
	m.dropped.Add(1)
	replay := err == ErrSRTPReplay
	if replay {
		m.replayed.Add(1)
	} else {
		m.authFailed.Add(1)
		if !m.warnedAuth && m.log != nil {
			m.warnedAuth = true
			m.log.Warn("SRTP packet failed authentication, dropped (further ones are only counted)", "source", src.String())
		}
	}
	if m.onSRTPDrop != nil {
		m.onSRTPDrop(replay)
	}
}
