// Package callgen is paybridge's own load generator: many callers that each dial over SIP/UDP,
// key a card over RFC 4733 (or as in-band tones) in real RTP, and wait for the far end to hang
// up — cheap enough that on a small machine the endpoint, not the generator, is what is
// measured.
//
// The model (compare SIPp's play_pcap_audio, which starts a thread per call):
//
//   - Signalling is sipgo: one UA, one UDP socket, one dialog cache; each call is a goroutine
//     that is parked except when a SIP message comes.
//   - Media is one scheduler for all calls: a 2 ms ticker; on each tick the calls whose next
//     packet is due (one every 20 ms from the moment the call was answered) have it written
//     into one batch, and the batch leaves in one sendmmsg(2) per socket (golang.org/x/net/ipv4
//     WriteBatch) on a few sockets shared by all calls. Calls are answered at random moments,
//     so their packets are spread over the 20 ms frame as independent callers' are, rather
//     than all landing in one burst that the endpoint could take in a single wake-up.
//   - What the endpoint sends back is drained by one reader per socket with recvmmsg(2)
//     (ReadBatch) and only counted.
//
// Every call plays the same stream (pcapgen.RFC4733 or pcapgen.Inband: silence, the keys,
// silence), restamped with its own SSRC, sequence and timestamp base. The generator reports
// what it saw (answered, refused with 503, other refusals, BYE from the far end, timeouts,
// the peak of concurrent calls, call-seconds); whether the digits arrived exactly is the
// endpoint's to say (paybridge's store, the diago peer's report) — see loadtest/capacity.
package callgen
