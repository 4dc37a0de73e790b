package captureline

import (
	"context"
	"sync"
	"time"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/pan"
	"github.com/paybridge/paybridge/sandbox"
)

// What the line is reading.
type phase int

const (
	phaseLink   phase = iota // the session's dtmfLinkId
	phaseNumber              // the card number, ended by '#'
	phaseExpiry              // MMYY, ended by '#'
	phaseCode                // the security code, ended by '#'
	phaseDone                // a whole card: waiting for the ledger
)

// Lengths the line accepts.
const (
	linkLen      = 8
	maxPANLen    = 19
	maxCodeLen   = 4
	expiryDigits = 4
)

// collector takes keys from the stream's goroutine straight into secure buffers and tells the
// call's goroutine when a phase is complete.
type collector struct {
	mu      sync.Mutex
	phase   phase
	link    []byte // the link id: no card data
	number  pan.SecureBuffer
	expiry  pan.SecureBuffer
	code    pan.SecureBuffer
	keyed   chan struct{} // a key arrived (buffered 1)
	stopped chan struct{} // the media timed out
	once    sync.Once
}

func newCollector() *collector {
	return &collector{keyed: make(chan struct{}, 1), stopped: make(chan struct{})}
}

// key takes one keypress (the stream's goroutine).
func (c *collector) key(d dtmf.Digit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch c.phase {
	case phaseLink:
		if d.IsNumeric() {
			c.link = append(c.link, d.Char())
			if len(c.link) == linkLen {
				c.phase = phaseNumber
			}
		}
	case phaseNumber:
		switch {
		case d.Char() == '#' && c.number.Len() > 0:
			c.phase = phaseExpiry
		case d.Char() == '*': // start the number again
			c.number.Wipe()
		case d.IsNumeric() && c.number.Len() < maxPANLen:
			_ = c.number.Append(d.Char())
		}
	case phaseExpiry:
		switch {
		case d.Char() == '#' && c.expiry.Len() == expiryDigits:
			c.phase = phaseCode
		case d.Char() == '*' || d.Char() == '#': // start the expiry again
			c.expiry.Wipe()
		case d.IsNumeric() && c.expiry.Len() < expiryDigits:
			_ = c.expiry.Append(d.Char())
		}
	case phaseCode:
		switch {
		case d.Char() == '#':
			c.phase = phaseDone
		case d.IsNumeric() && c.code.Len() < maxCodeLen:
			_ = c.code.Append(d.Char())
		}
	}
	select {
	case c.keyed <- struct{}{}:
	default:
	}
}

// await waits until the collector has passed want's predecessor: until the phase is at least
// want (the link id complete when want is phaseLink is phaseNumber…). It returns the link id
// once read, or why the wait ended.
func (c *collector) await(ctx, dialog context.Context, keyTimeout time.Duration, want phase) (string, string) {
	timer := time.NewTimer(keyTimeout)
	defer timer.Stop()
	for {
		c.mu.Lock()
		done := c.phase > want || (want == phaseDone && c.phase == phaseDone)
		link := string(c.link)
		c.mu.Unlock()
		if done {
			return link, ""
		}
		select {
		case <-c.keyed:
			if !timer.Stop() {
				<-timer.C
			}
			timer.Reset(keyTimeout)
		case <-timer.C:
			return "", "no key for " + keyTimeout.String()
		case <-c.stopped:
			return "", "no media"
		case <-dialog.Done():
			return "", "the caller hung up"
		case <-ctx.Done():
			return "", "the line closed or the call lasted too long"
		}
	}
}

// card is the card read (its buffers stay the collector's).
func (c *collector) card() sandbox.LineCard {
	return sandbox.LineCard{Number: &c.number, Expiry: &c.expiry, SecurityCode: &c.code}
}

// wipeCard zeroes the card read.
func (c *collector) wipeCard() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.number.Wipe()
	c.expiry.Wipe()
	c.code.Wipe()
}

// next reads another card (after a decline).
func (c *collector) next() {
	c.mu.Lock()
	c.phase = phaseNumber
	c.mu.Unlock()
}

// wipe zeroes everything read (the end of the call).
func (c *collector) wipe() {
	c.wipeCard()
	c.mu.Lock()
	clear(c.link)
	c.mu.Unlock()
}

// stop: the media timed out.
func (c *collector) stop() { c.once.Do(func() { close(c.stopped) }) }
