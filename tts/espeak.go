package tts

// #cgo pkg-config: espeak-ng
// #include <stdlib.h>
// #include <string.h>
// #include <espeak-ng/speak_lib.h>
//
// // Synthesis is synchronous and serialised by the Go side, so one output buffer serves.
// typedef struct { short *buf; int len, cap, max; int failed; } pb_pcm;
// static pb_pcm pb_out;
//
// static int pb_callback(short *wav, int n, espeak_EVENT *ev) {
//	(void)ev;
//	if (wav == NULL || n <= 0) return 0;
//	if (pb_out.len + n > pb_out.max) { pb_out.failed = 2; return 1; }
//	if (pb_out.len + n > pb_out.cap) {
//		int cap = pb_out.cap ? pb_out.cap : 1 << 16;
//		while (cap < pb_out.len + n) cap *= 2;
//		short *b = realloc(pb_out.buf, (size_t)cap * sizeof(short));
//		if (b == NULL) { pb_out.failed = 1; return 1; }
//		pb_out.buf = b;
//		pb_out.cap = cap;
//	}
//	memcpy(pb_out.buf + pb_out.len, wav, (size_t)n * sizeof(short));
//	pb_out.len += n;
//	return 0;
// }
//
// static int pb_init(void) {
//	int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 200, NULL, espeakINITIALIZE_DONT_EXIT);
//	if (rate > 0) espeak_SetSynthCallback(pb_callback);
//	return rate;
// }
//
// static int pb_synth(const char *text, int max) {
//	pb_out.len = 0;
//	pb_out.failed = 0;
//	pb_out.max = max;
//	int err = espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8 | espeakSSML, NULL, NULL);
//	if (err == EE_OK) err = espeak_Synchronize();
//	return err;
// }
//
// // pb_voice selects a voice the way the espeak-ng program's -v does: by name ("en",
// // "en+f3", "gmw/en"), else by language ("en-gb", "es-es").
// static int pb_voice(const char *name) {
//	if (espeak_SetVoiceByName(name) == EE_OK) return EE_OK;
//	espeak_VOICE v;
//	memset(&v, 0, sizeof v);
//	v.languages = name;
//	return espeak_SetVoiceByProperties(&v);
// }
//
// // pb_voices lists every voice as lines of tab-separated names it answers to: its name,
// // its identifier and its languages. The caller frees the result.
// static char *pb_voices(void) {
//	const espeak_VOICE **v = espeak_ListVoices(NULL);
//	size_t cap = 4096, len = 0;
//	char *out = malloc(cap);
//	if (out == NULL) return NULL;
//	out[0] = 0;
//	for (; v != NULL && *v != NULL; v++) {
//		const char *fields[64];
//		int n = 0;
//		fields[n++] = (*v)->name ? (*v)->name : "";
//		fields[n++] = (*v)->identifier ? (*v)->identifier : "";
//		for (const char *l = (*v)->languages; l != NULL && *l != 0 && n < 64; l += strlen(l + 1) + 2)
//			fields[n++] = l + 1; // each language is a priority byte, the name, a NUL
//		for (int i = 0; i < n; i++) {
//			size_t need = strlen(fields[i]) + 2;
//			if (len + need + 1 > cap) {
//				while (len + need + 1 > cap) cap *= 2;
//				char *b = realloc(out, cap);
//				if (b == NULL) { free(out); return NULL; }
//				out = b;
//			}
//			memcpy(out + len, fields[i], need - 2);
//			len += need - 2;
//			out[len++] = i + 1 < n ? '\t' : '\n';
//			out[len] = 0;
//		}
//	}
//	return out;
// }
//
// static const char *pb_version(void) { return espeak_Info(NULL); }
// static int pb_failed(void) { return pb_out.failed; }
// static int pb_len(void) { return pb_out.len; }
// static short *pb_buf(void) { return pb_out.buf; }
import "C"

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// Espeak renders through libespeak-ng in this process: no process start per request, the
// voice data loaded once — about a millisecond of synthesis for a prompt. The library keeps one
// synthesiser per process, so renders are serialised; an Espeak is safe for concurrent use
// and every Espeak shares that synthesiser.
//
// The synthesiser carries a little state from one utterance to the next (the phase of its
// pitch flutter), so two renders of one request differ inaudibly in their samples. The
// bundled packs, which must be byte-for-byte reproducible, are rendered with EspeakProcess,
// which starts fresh every time; both give the same voice, hence the same ID.
type Espeak struct{}

var espeakLib struct {
	once    sync.Once
	err     error
	rate    int
	version string
	slot    chan struct{} // one render at a time
	voices  voiceSet      // the names -v accepts
	voice   string        // current voice
	wpm     int           // current rate
}

// maxSpeech bounds one stretch of speech: two minutes at the library's rate.
const maxSpeechSeconds = 120

// NewEspeak initialises libespeak-ng (once per process) and returns the engine. It fails,
// wrapping ErrEngine, when the library or its voice data (Debian: espeak-ng-data) is missing.
func NewEspeak() (*Espeak, error) {
	l := &espeakLib
	l.once.Do(func() {
		rate := int(C.pb_init())
		if rate <= 0 {
			l.err = fmt.Errorf("%w: libespeak-ng did not initialise (is espeak-ng-data installed?)", ErrEngine)
			return
		}
		l.rate = rate
		l.version = C.GoString(C.pb_version())
		l.slot = make(chan struct{}, 1)
		list := C.pb_voices()
		if list == nil {
			l.err = fmt.Errorf("%w: libespeak-ng lists no voices", ErrEngine)
			return
		}
		l.voices = voiceSet{}
		for _, line := range strings.Split(C.GoString(list), "\n") {
			l.voices.add(strings.Split(line, "\t")...)
		}
		C.free(unsafe.Pointer(list))
	})
	if l.err != nil {
		return nil, l.err
	}
	return &Espeak{}, nil
}

// ID names the engine and its version for cache keys: "espeak-ng 1.51".
func (*Espeak) ID() string { return "espeak-ng " + espeakLib.version }

// Render renders req. It waits for the synthesiser as long as ctx allows.
func (e *Espeak) Render(ctx context.Context, req Request) (*Audio, error) {
	return renderScript(ctx, e, req, espeakVoice)
}

func (*Espeak) speak(ctx context.Context, voice string, wpm int, ssml string) ([]int16, int, error) {
	l := &espeakLib
	select {
	case l.slot <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	defer func() { <-l.slot }()
	if voice != l.voice {
		if !l.voices.has(voice) {
			return nil, 0, fmt.Errorf("%w: espeak-ng has no voice %q", ErrVoice, voice)
		}
		cv := C.CString(voice)
		rc := C.pb_voice(cv)
		C.free(unsafe.Pointer(cv))
		if rc != C.EE_OK {
			l.voice = ""
			return nil, 0, fmt.Errorf("%w: espeak-ng has no voice %q", ErrVoice, voice)
		}
		l.voice, l.wpm = voice, 0 // a new voice resets the rate
	}
	if wpm != l.wpm {
		if C.espeak_SetParameter(C.espeakRATE, C.int(wpm), 0) != C.EE_OK {
			return nil, 0, fmt.Errorf("%w: espeak-ng refused rate %d", ErrEngine, wpm)
		}
		l.wpm = wpm
	}
	text := C.CString("<speak>" + ssml + "</speak>")
	defer C.free(unsafe.Pointer(text))
	if rc := C.pb_synth(text, C.int(maxSpeechSeconds*l.rate)); rc != C.EE_OK {
		return nil, 0, fmt.Errorf("%w: espeak_Synth returned %d", ErrEngine, int(rc))
	}
	switch C.pb_failed() {
	case 1:
		return nil, 0, fmt.Errorf("%w: out of memory", ErrEngine)
	case 2:
		return nil, 0, fmt.Errorf("%w: speech longer than %d s", ErrRequest, maxSpeechSeconds)
	}
	n := int(C.pb_len())
	out := make([]int16, n)
	if n > 0 {
		copy(out, unsafe.Slice((*int16)(unsafe.Pointer(C.pb_buf())), n))
	}
	return out, l.rate, nil
}
