//go:build paybridge_upperbound

package ivr

// upperBound is true only in the measurement build of issue 17's upper-bound experiment (tag
// paybridge_upperbound; docs/sip.md "What the goals would take: every guarantee off"): the
// admission monitor polls no call's socket (SO_MEMINFO every admissionTick), so it sees
// neither drops nor readers behind; serve runs with a fixed limit there. No Makefile target
// builds with this tag.
const upperBound = true
