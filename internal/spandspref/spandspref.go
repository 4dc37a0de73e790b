// Package spandspref wraps the reference DTMF receiver, spandsp's dtmf_rx (Debian
// libspandsp-dev), through cgo, so paybridge's detector can be measured against it on the
// same samples. It is a test and benchmark aid: nothing in the product imports it, and cgo
// stays out of package dtmf.
package spandspref

/*
#cgo pkg-config: spandsp
#cgo LDFLAGS: -lm
#include <stdlib.h>
#include <spandsp.h>

static dtmf_rx_state_t *ref_rx_new(int relaxed) {
	dtmf_rx_state_t *s = dtmf_rx_init(NULL, NULL, NULL);
	if (s && relaxed)
		dtmf_rx_parms(s, -1, 12, 12, -50);
	return s;
}
static int16_t ref_ulaw_to_linear(uint8_t u) { return ulaw_to_linear(u); }
static uint8_t ref_linear_to_ulaw(int x) { return linear_to_ulaw(x); }
static int16_t ref_alaw_to_linear(uint8_t a) { return alaw_to_linear(a); }
static uint8_t ref_linear_to_alaw(int x) { return linear_to_alaw(x); }
*/
import "C"

import "unsafe"

// Rx is one spandsp DTMF receiver.
type Rx struct {
	s   *C.dtmf_rx_state_t
	buf [64]C.char
}

// NewRx returns a receiver with spandsp's default settings.
func NewRx() *Rx { return &Rx{s: C.ref_rx_new(0)} }

// NewRelaxedRx returns a receiver with wide limits (twist 12 dB both ways, threshold
// −50 dBm0): the "attacker" setting for leak tests.
func NewRelaxedRx() *Rx { return &Rx{s: C.ref_rx_new(1)} }

// Process feeds samples and returns the keys that became known.
func (r *Rx) Process(pcm []int16) string {
	if len(pcm) == 0 {
		return ""
	}
	C.dtmf_rx(r.s, (*C.int16_t)(unsafe.Pointer(&pcm[0])), C.int(len(pcm)))
	n := C.dtmf_rx_get(r.s, &r.buf[0], C.int(len(r.buf)-1))
	return C.GoStringN(&r.buf[0], C.int(n))
}

// Close frees the receiver.
func (r *Rx) Close() {
	if r.s != nil {
		C.dtmf_rx_free(r.s)
		r.s = nil
	}
}

// ULawToLinear and friends are spandsp's G.711.
func ULawToLinear(u byte) int16 { return int16(C.ref_ulaw_to_linear(C.uint8_t(u))) }
func LinearToULaw(x int16) byte { return byte(C.ref_linear_to_ulaw(C.int(x))) }
func ALawToLinear(a byte) int16 { return int16(C.ref_alaw_to_linear(C.uint8_t(a))) }
func LinearToALaw(x int16) byte { return byte(C.ref_linear_to_alaw(C.int(x))) }
