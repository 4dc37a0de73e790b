// Package prompts is paybridge's prompt library: the bundled packs — en-GB (the default) and
// es-ES, 8 kHz mono 16-bit PCM WAVs rendered from <lang>.tsv by `make prompts` through the tts
// package, committed and embedded in the binary — and a loader that resolves a prompt name
// against a plan's own directory first and a bundled pack second (Open: en-GB; OpenLang: the
// pack of a language). A plan's WAV in another layout (rate, channels, encoding) is converted
// at load with a warning (Prompt.Converted; Check reports it as converted-prompt).
//
// A prompt name is a file name without ".wav": letters, digits, '-', '_' and '.', never a
// path. The pack holds every default prompt the call-plan engine can select (Pay's
// pay-<field> and pay-<field>-<errorType>, Gather/Menu defaults), the digit prompts digit-0 …
// digit-9 for SayDigits and the number and currency words num-*, hundred, thousand, million,
// and, point, currency-<ISO>-major[-1] / -minor[-1] for SayAmount.
package prompts
