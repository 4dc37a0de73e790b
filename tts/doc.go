// Package tts renders text to speech for calls: 8 kHz mono 16-bit linear PCM (Audio), the
// shape a call's player sends as G.711 and the prompts package holds, so rendered speech
// plays exactly like a bundled prompt.
//
// The model:
//
//   - A Request is what to say — plain Text and/or Segments, each with a SayAs kind (digits,
//     characters, currency, date, cardinal, or a break of silence) — in a Language (BCP 47;
//     say-as rules exist for en-* and es-*), with an optional Voice and Rate (words per
//     minute). ParseMarkup reads the same from SSML-like text ("<say-as
//     interpret-as="characters">ch_6dy</say-as><break time="500ms"/>"). Normalize checks a
//     request — including every say-as value — without rendering it.
//   - Say-as values become words by the package's own rules, per language: GBP 12.50 →
//     "twelve pounds fifty" / "doce libras con cincuenta peniques"; 2026-11-22 → "the twenty
//     second of November twenty twenty six" / "veintidós de noviembre de dos mil veintiséis";
//     "4242" → "four two four two"; characters are spelled by the engine, symbols named
//     ("underscore"). A value its kind cannot say is an error wrapping ErrSayAs, never a guess.
//   - A Renderer turns a Request into Audio. The engines: Espeak (libespeak-ng in-process,
//     the default and the fastest), EspeakProcess (the espeak-ng program per request) and
//     HTTP (an external service; its JSON request and WAV answer are documented on
//     HTTPRequest). Every engine's speech goes through the same processing: resampled to
//     8 kHz with an anti-aliasing filter (audiofile.Resample), each stretch of speech trimmed of
//     leading and trailing silence, breaks inserted as exact silence, peak-normalised to
//     -3 dBFS — like the bundled prompt packs, which `make prompts` renders with this package.
//   - A Cache in front of an engine (Cache.Wrap) keeps every render on disk under
//     Request.Key(engine ID) — a hash of the text, segments, voice, language, rate, the
//     engine and its version — and the most recent ones in memory. A hit never runs the
//     engine; the directory may be shared by processes (atomic renames) and is bounded
//     (least recently used files go first). Prerender renders a plan's static text at load.
//
// Consumers own their interfaces: a call-plan step that speaks needs only something with
// Render(ctx, Request) (*Audio, error) — a Renderer, or a RenderFunc in tests.
//
// Rendered audio of dynamic text (a balance, a reference) lives in the cache directory;
// never render card data or other secrets.
package tts
