// Package examples is what paybridge ships besides its code: the example call plans, one per
// feature of the language (docs/callplan.md lists them). `paybridge serve` installs them into
// its data directory on the first start without --plans, and `make test` validates and
// replays every one of them, so an example that ships is an example that runs.
package examples
