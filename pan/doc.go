// Package pan is the one home of card data in paybridge: the secure buffer that holds the
// digits, the one mask, the card rules (Luhn, brands, expiry, security code, postal code, ABA
// routing numbers) and the one redactor every output passes through. It uses the standard
// library only. This file is the one to read to know the rule.
//
// # The invariant
//
// The digits of a card — number, security code, expiry — exist in exactly one type,
// SecureBuffer, from the keypress (or the payment page's form body) to the bytes of the
// provider request on the wire. A connector copies them once, with AppendTo, into the request
// body it sends, and zeroes that body (Zero) when the request is done; the Pay step wipes every
// buffer on every exit path. Every other part of paybridge — logs, SIP traces, events, the
// live feed, the database, metrics, recordings, errors, panics — sees only the mask, and a
// security code is never stored at all, not even masked.
//
// Two lines of defence keep it so:
//
//  1. The secret cannot print itself. Every way of printing a SecureBuffer — String,
//     GoString, every fmt verb, slog's LogValue, JSON and text marshalling, an error that
//     wraps it, a panic with it — gives the mask; a copied value prints a pointer. Digits go
//     in one at a time (Append) and come out only through Use and AppendTo.
//  2. Every output is redacted. Text that came from outside the secret — a provider's error
//     message, a reference the caller keyed, a plan's value quoted in a diagnostic, a SIP
//     message in a trace, an event's fields, a webhook payload — passes through Redact (or
//     RedactJSON) on its way to a log line, a database row, the live feed, a trace or an
//     error. A card number that slipped past the first line is masked here.
//
// # The mask
//
// One format everywhere (Mask, SecureBuffer.Mask): a number of a card number's length (12–19
// digits) shows its last four digits and '*' for every other digit, "************4242";
// anything shorter or longer is '*' throughout ("***" for a security code). ValidMask is the
// test the store applies to a masked card before it writes one.
//
// # The redaction rule
//
// Redact masks, in free text, what a payment product must never let through, erring on the
// side of masking. Digits are ASCII '0'–'9'; a run is a maximal sequence of digits in which
// single spaces or dashes may separate digits ("4242 4242 4242 4242", "3782-822463-10005",
// "4 2 4 2 …").
//
//   - Card numbers. A run of 13 digits or more is masked, whether or not it passes the Luhn
//     check (a mistyped card is still most of a card); a run of exactly 12 is masked when it is
//     a complete card number (Valid: a known brand's prefix and length, Luhn — the 12-digit
//     Maestro numbers). The whole run becomes one mask, separators dropped.
//   - Phone numbers. A run right after '+' is an E.164 number, which has at most 15 digits: it
//     is kept unless it is longer, or is 13–15 digits that are a complete card number.
//   - Identifiers. A run that touches an ASCII letter (part of a word or an id: a hex call id,
//     "tok_4a1…", a UUID group) is masked only when it, or a span of its whole groups, is a
//     complete card number. A letter that ends an escape ("\n", "\u0034", "%0A") does not count,
//     so an encoder's escape cannot shield the digits after it.
//   - Security codes and expiries. After a keyword — cvv, cvc, cvn, csc, cvd, cv (cvv2, cvc2),
//     "security code"; exp, expiry, expiration — as a whole word (case-insensitive; camelCase,
//     snake_case and kebab-case split: "cardCvc", "exp_month", "security-code"), the value that
//     follows within 24 bytes is masked: 3–4 digits for a security code; for an expiry MM/YY,
//     MM/YYYY, MM-YY, MM YY, MMYY, MMYYYY, a month or a year. Only punctuation and the filler
//     words date, code, number, num, no, nr, month, year, mm, yy, yyyy, mmyy, is and value
//     may stand between; any other word ends the keyword's reach. A group that continues into
//     a longer date (2026-11-22) is not an expiry.
//   - Bank numbers (ACH). After routing or aba, 9 digits are masked; after account, acct or
//     "account number", 4–17 digits are (with the last four shown when it has a card number's
//     length). CheckRoutingNumber is the ABA checksum.
//   - Keywords inside identifiers. A provider's charge, token and operation ids are random
//     letters and digits, and one will sooner or later spell a keyword and a value
//     ("ch_tisd4awikw6cv767"); masking it would store a confirmation that no longer matches
//     the provider's ledger. So no word starts right after a digit unless it is a camelCase
//     word ("card1Cvc" still splits; "…w6cv767" and "…W6CV767" do not), and a value that runs
//     straight into a letter ("ch_cvv123abc") is part of the identifier, not the value. What
//     is left — an id that starts with a keyword and its exact value ("acct12345678"), or a
//     mixed-case one that ends in a lower-case letter, "Cvc" and three digits — is orders of
//     magnitude rarer and is masked, erring on the side of masking.
//
// What survives: amounts, counts, HTTP statuses, ports, durations; dates and times as
// paybridge prints them (RFC 3339) and Unix seconds; IP addresses; phone numbers with their
// '+' (and without it, up to 12 digits); call ids, tokens and other identifiers that mix
// letters and digits. What does not: any 13+ digit number, including millisecond or finer
// epoch timestamps and numeric ids that long — they cannot be told from a card.
//
// RedactJSON applies the same rule to a JSON document, token by token (keys, strings and
// numbers in document order, with escapes decoded), so that {"cvc":"123"} masks as it does in
// text, and keeps the document valid: a masked number becomes a string.
//
// FindCard is the narrower question "is there certainly a card here?" (a complete card
// number, Valid): the plan parser refuses a plan that contains one, where Redact would also
// mask looser look-alikes.
//
// # Card rules
//
// Luhn, DetectBrand, Valid and CheckNumber (brand table, lengths, Luhn, accepted brands),
// CheckExpiry (MMYY against a clock), CheckSecurityCode (3, or 4 for amex) and
// CheckPostalCode (keypad digits) work on the digits as a []byte lent by SecureBuffer.Use and
// never copy them into a string, an error or a log. Their errors are the sentinels of
// errors.go; the call plan names them as Pay error types.
//
// See docs/pay.md for how the Pay step uses them and docs/operations.md for where each
// output is redacted.
package pan
