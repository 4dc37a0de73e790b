package tts

import "errors"

// Sentinel errors of the tts package; returned errors wrap them with details.
var (
	// ErrRequest: the request cannot be rendered as given (nothing to say, too long, a rate
	// out of range, a bad voice name).
	ErrRequest = errors.New("tts: invalid request")
	// ErrLanguage: no text rules for the language (say-as needs them).
	ErrLanguage = errors.New("tts: unsupported language")
	// ErrSayAs: a say-as segment's text is not what its kind expects (a letter among digits,
	// an unknown currency, a 31st of February).
	ErrSayAs = errors.New("tts: bad say-as value")
	// ErrMarkup: ParseMarkup found malformed or unknown markup.
	ErrMarkup = errors.New("tts: bad markup")
	// ErrVoice: the engine does not have the requested voice.
	ErrVoice = errors.New("tts: unknown voice")
	// ErrEngine: the engine failed (espeak-ng missing or failing, the HTTP service down or
	// answering with an error or with audio it could not decode).
	ErrEngine = errors.New("tts: engine failed")
	// ErrCache: the cache directory cannot be used.
	ErrCache = errors.New("tts: cache unusable")
)
