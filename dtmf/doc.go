// Package dtmf turns keypresses into digits and keeps them secret.
//
// It knows nothing of SIP: it takes 8 kHz audio samples, RTP telephone-event payloads (with
// the RTP header fields it needs passed in) and SIP INFO bodies, and gives back Events. It uses
// the standard library only.
//
// # The pieces
//
//   - G.711: DecodeULaw/EncodeULaw, DecodeALaw/EncodeALaw and the per-sample forms; table
//     driven, bit-exact with ITU-T G.191 (and with spandsp, see internal/spandspref).
//   - Detector: the in-band Goertzel detector. Feed it decoded audio in frames of any size
//     (Process) and tell it about lost packets (Gap); it returns key-down events (End == 0)
//     as soon as a key is certain (about 32 ms after the tone starts) and key-up events
//     (End > 0) when it ends. A block whose energy is too small to hold two tones at the
//     minimum level (an exact bound, see gateMargin) is refused before the filters run.
//   - Receiver and Sender: RFC 4733 telephone-events, keyed on the RTP timestamp; UnpackRED
//     and PackRED for RFC 2198 redundancy; TelephoneEvent is the 4-byte payload.
//   - ParseInfo and FormatInfoRelay: SIP INFO bodies (application/dtmf-relay, application/dtmf).
//   - Stream: one call's merged keypress stream. Gateways send the same key as tones, events
//     and INFO at once; the Stream calls OnDigit exactly once per keypress, from whichever
//     source is sure first. AudioULaw takes PCMU payloads as they come, without a decoded
//     copy (digital silence costs next to nothing).
//   - Masker: a look-ahead delay line that replaces every tone in forwarded or recorded audio
//     with silence, and a secure window that replaces all of it during card capture.
//   - GenerateDigit and GenerateDigits: tones with level, twist, detuning and phase control.
//
// # Clocks
//
// Every Event's Start and End are offsets on the clock of whoever produced it: samples fed
// (at 125 µs each, gaps included) for the Detector, the now passed in for the Receiver, and
// the Stream's own clock (audio + gaps + Advance, late audio covering time an Advance
// already counted) for the Stream. Nothing reads the wall clock, so a replay on a virtual
// clock and a live call give the same numbers. Advance reaches the in-band detector only
// after StallLimit without audio: audio that stalled (queued in a network or a process, then
// delivered in a burst) is decoded as it was sent, never split by the stall.
//
// # Secrets
//
// A Digit prints as "•" and an Event's LogValue leaves the key out; only Digit.Char shows a
// key, for tools whose job is to show it (`paybridge dtmf decode`) or non-card menus. Errors
// of the decoders never quote their input. A Stream zeroes every keypress it remembers for
// merging as soon as it forgets it. Card digits, once keyed, go into a pan.SecureBuffer (the
// pan package holds every card rule: the buffer, the mask, the redactor).
//
// See docs/dtmf.md for the design, the measured limits and the comparison with spandsp.
package dtmf
