// Package prompts is paybridge's prompt library: the bundled en-GB pack (8 kHz mono 16-bit
// PCM WAVs generated once with espeak-ng and sox by generate.sh, committed and embedded in
// the binary) and a loader that resolves a prompt name against a plan's own directory first
// and the bundled pack second.
//
// A prompt name is a file name without ".wav": letters, digits, '-', '_' and '.', never a
// path. The pack holds every default prompt the call-plan engine can select (Pay's
// pay-<field> and pay-<field>-<errorType>, Gather/Menu defaults), the digit prompts digit-0 …
// digit-9 for SayDigits and the number and currency words num-*, hundred, thousand, million,
// and, point, currency-<ISO>-major[-1] / -minor[-1] for SayAmount.
package prompts
