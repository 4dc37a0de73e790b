// Package suggest finds the known name that an unknown one is most plausibly a typo of
// ("Gathr" → "Gather"), for the "did you mean" hints of `paybridge validate`: element and
// attribute names of the call-plan language, connector types, prompt names.
package suggest
