//go:build paybridge_upperbound

package media

// upperBound is true only in the measurement build of issue 17's upper-bound experiment (tag
// paybridge_upperbound; docs/sip.md "What the goals would take: every guarantee off"): a call
// that negotiated telephone-event feeds no audio to the in-band DTMF detector, and the
// scheduler never asks the kernel whether the reader is behind (SO_MEMINFO), so a stall can
// split a key. No Makefile target builds with this tag.
const upperBound = true
