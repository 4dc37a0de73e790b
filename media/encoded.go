package media

import "sync"

// Prompt audio is encoded once per codec, not once per frame per call: a prompt's samples
// are the same slice for every call that plays it (the prompt loader's cache), so while
// sessions play a slice they share one G.711 encoding of it per law, made by the first Play
// and copied into each packet as it goes out. The encoding lives exactly as long as some
// playback of the slice does: the last one to end drops and clears it, so nothing is kept
// beyond the audio the callers themselves hold (outgoing audio never carries card digits,
// but speech rendered for one call is not kept either). A slice is known by its first
// element and its length; the samples must not change while they play, as Play has always
// required, so the shared bytes are those each frame would have encoded.

// sharedEncoding is the encodings of one slice of samples being played.
type sharedEncoding struct {
	key   encodingKey
	users int // playbacks holding it (encodings.mu)
	once  [2]sync.Once
	bytes [2][]byte // by law: lawU-1, lawA-1; written once, read-only after
}

type encodingKey struct {
	first *int16
	n     int
}

var encodings struct {
	mu sync.Mutex
	m  map[encodingKey]*sharedEncoding
}

// acquireEncoding returns the shared encodings of pcm, holding them until releaseEncoding;
// nil for no samples.
func acquireEncoding(pcm []int16) *sharedEncoding {
	if len(pcm) == 0 {
		return nil
	}
	k := encodingKey{&pcm[0], len(pcm)}
	encodings.mu.Lock()
	defer encodings.mu.Unlock()
	e := encodings.m[k]
	if e == nil {
		if encodings.m == nil {
			encodings.m = make(map[encodingKey]*sharedEncoding)
		}
		e = &sharedEncoding{key: k}
		encodings.m[k] = e
	}
	e.users++
	return e
}

// releaseEncoding lets go of e; the last playback of a slice drops and clears its bytes.
func releaseEncoding(e *sharedEncoding) {
	if e == nil {
		return
	}
	encodings.mu.Lock()
	defer encodings.mu.Unlock()
	if e.users--; e.users > 0 {
		return
	}
	delete(encodings.m, e.key)
	for i := range e.bytes {
		clear(e.bytes[i])
	}
}

// encodingsHeld is how many slices have shared encodings (tests).
func encodingsHeld() int {
	encodings.mu.Lock()
	defer encodings.mu.Unlock()
	return len(encodings.m)
}

// forCodec returns pcm encoded as c (pcm is the slice e was acquired for), encoding it on
// the first call for c's law; nil for the zero Codec. Callers wait for the first call's
// encoding; it runs on the goroutine that called Play, never on the scheduler's.
func (e *sharedEncoding) forCodec(c Codec, pcm []int16) []byte {
	if e == nil || c.law == lawNone {
		return nil
	}
	i := int(c.law) - 1
	e.once[i].Do(func() {
		b := make([]byte, len(pcm))
		c.Encode(b, pcm)
		e.bytes[i] = b
	})
	return e.bytes[i]
}

// silence is each law's byte for a zero sample: what pads a prompt's last, short frame.
var silence = func() (s [3]byte) {
	zero := []int16{0}
	for _, c := range []Codec{PCMU, PCMA} {
		c.Encode(s[c.law:c.law+1], zero)
	}
	return s
}()
