// Package app wires paybridge together for `paybridge serve`: it reads the configuration, opens
// the store, loads the call plans, mounts the sandbox provider, payment pages and console on one
// HTTP listener, starts the SIP/RTP endpoint and runs each answered call through the call-plan
// engine, recording everything (masked) in the store and the live feed.
//
// It is the only package that knows every other one; adapters between their small interfaces
// live here so that the packages themselves stay independent.
package app
