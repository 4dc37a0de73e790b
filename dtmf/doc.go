// Package dtmf turns keypresses into digits and keeps them secret.
//
// It knows nothing of SIP: it takes audio samples, RTP telephone-event payloads (with the RTP
// header fields it needs passed in) and SIP INFO bodies, and gives back Events. Every digit
// that may be card data lives in a SecureBuffer, which only ever prints a mask.
package dtmf
