// Package ivr is paybridge's SIP/RTP endpoint: it answers calls with sipgo, negotiates SDP,
// runs RTP media sessions and gives the callplan engine a Channel for each call.
package ivr
