package pan

// Zero overwrites p with zero bytes. Every byte slice that has held a digit of a card —
// a provider request body built with AppendTo, a form body, a scratch copy — goes through
// Zero (or SecureBuffer.Wipe) before it is dropped, so the garbage collector never frees
// memory that still holds one.
func Zero(p []byte) {
	clear(p)
}
