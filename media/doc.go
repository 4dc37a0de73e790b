// Package media is paybridge's RTP audio layer: sessions, codecs, SDP offer/answer, the port
// pool, the pacing scheduler and masked recording. It knows nothing of SIP — it imports dtmf,
// pion/rtp, pion/sdp and the standard library — so the SIP endpoint (ivr), the test caller
// (siptest) and whatever carries SDP next build on it the same way.
//
// # The model
//
// A Session is one audio stream: one UDP socket (from a PortPool: even ports picked at
// random, a released port resting 5 s), one negotiated Params, one Scheduler shared by every
// session of the process. Its life is NewSession → SetParams → Start → … → Close, with
// SetParams again whenever a new description arrives (a re-INVITE, an UPDATE, a late
// offer's answer). A session does not know which call, dialog or leg it belongs to; two
// sessions of one call (two legs, later a bridge between them) are two values.
//
//	pool, _ := media.NewPortPool(ip, 10000, 20000)
//	sched := media.NewScheduler()
//	offer, _ := media.ParseSDP(body)
//	params, err := media.Negotiate(offer) // err: ErrNoAudio, ErrNoCommonCodec, … (a 488 reason)
//	conn, port, _ := pool.Get()
//	s := media.NewSession(conn, media.SessionConfig{Scheduler: sched, DTMF: stream})
//	s.SetParams(params)
//	answer := media.BuildAnswer(offer, params, media.LocalMedia{IP: ip, Port: port})
//	s.Start()
//	s.Play(ctx, prompt) // returns when sent, on ctx (barge-in), or ErrClosed
//	s.Close(); pool.Put(port)
//
// # Describing media (SDP)
//
// ParseSDP reads an offer or answer with pion/sdp and falls back to a lenient line parser for
// the misordered bodies real phones send. Negotiate picks the first usable audio m-line, the
// first of PCMU/PCMA in the offer's order (on the offer's payload type), the offer's
// telephone-event payload type, ptime 20 or 30, and the direction to answer with.
// BuildAnswer mirrors the offer's m-lines (port 0 for the ones refused); BuildOffer is
// paybridge's own offer. SDP lives here, not beside SIP, because it describes media: the
// session's codec, address, direction and SRTP keys come from it, and any
// signalling (SIP today, a second leg of a B2BUA tomorrow) only carries the bytes.
//
// # Codecs
//
// Codec is one comparable value — an encoding bound to a payload type — with Encode, Decode,
// Name and PayloadType. PCMU and PCMA are the two it speaks; CodecByName maps an rtpmap entry.
//
// # Receiving
//
// On Linux (amd64, arm64) no session has a reader goroutine: Start takes the socket out of
// Go's runtime poller (a duplicate descriptor; the net.UDPConn is closed) and hands it to the
// process's one shared receiver, whose goroutine runs a round every 5 ms. Two receivers exist;
// the process uses one (RTPIO names it): io_uring where the kernel allows it (the default),
// epoll where it does not or with PAYBRIDGE_RTP_IO=epoll.
//
//   - io_uring (uringrx_linux.go, the default where the kernel allows it): one ring whose
//     completion work the kernel runs only inside our own io_uring_enter (DEFER_TASKRUN, the
//     goroutine locked to the ring's one issuing thread). Each socket has one multishot
//     recvmsg in it (user_data = the session's id, never the descriptor) taking 1 KiB buffers
//     from a provided-buffer ring of 512. A round submits what changed (new sockets, cancels,
//     receives to arm again after ENOBUFS) and runs the receive work of every socket that got
//     datagrams in a few io_uring_enter calls (the kernel runs 20 sockets' work a call), then
//     hands each datagram with its source to its session (found by the slot in user_data; no
//     lock taken), its audio decoded into the receiver's own buffer, clears the buffer's bytes
//     and the decoded samples and gives the buffer back. The goroutine must stay on the one
//     thread: the kernel runs deferred work only in its issuer's io_uring_enter, and without
//     DEFER_TASKRUN it would run on whichever thread armed each receive, whenever that thread
//     next left the kernel. Between rounds it blocks on a Go timer (two thread switches a
//     round: the locked thread is woken by a hand-off); an io_uring_enter that waits for
//     nothing is a raw system call, so the runtime's sysmon never takes the P from a round
//     (docs/sip.md, "The receiver's round: thread switches"). Stopping a session cancels its receive
//     (ASYNC_CANCEL by user_data); its socket is closed only after the receive's final
//     completion, so the kernel holds no request on a closed socket and no datagram of it
//     reaches anyone.
//   - epoll (rxpoll_linux.go, with PAYBRIDGE_RTP_IO=epoll, and whenever io_uring cannot be set
//     up: an old kernel, a seccomp filter, kernel.io_uring_disabled): an edge-triggered epoll set the
//     goroutine asks without
//     blocking which sockets received datagrams; each is drained with one recvmmsg into the
//     receiver's buffers, cleared once handled (the audio is decoded into one more of them).
//     A datagram waits at most rxPollDelay (5 ms) plus one round's handling before its
//     session sees it: ~15 ms with 1,000 calls on a 2-core VM, where a round takes ~10 ms.
//
// Either way a packet costs no goroutine wake-up, and a call holds no receive buffer or
// goroutine stack. Each datagram goes through the rules below. Sending mirrors it: with
// io_uring the scheduler's tick copies each packet into a slot and queues a send naming its
// destination (a sendmsg on a kernel that cannot; MSG_DONTWAIT), and flushSends at the end of
// the tick submits them all with one io_uring_enter (raw: it waits for none) that sends them
// inline and reaps their completions, clearing each slot (a packet may be an RFC 4733 key sent to an agent); a
// socket's close first sends what is queued on it. On the epoll path each packet is one sendto. Either way a full send buffer drops the
// packet instead of holding up the scheduler. Elsewhere each session reads its net.UDPConn
// with a goroutine.
//
// On a VM where system calls are dear io_uring costs less CPU than epoll (docs/sip.md, RTP on
// io_uring); most of either's cost is the kernel's receive and send work per packet, which both
// do. The capture the sandbox's line once lost on io_uring was a bridge relay defect that lost
// it on epoll too under load (fixed in relay.go); io_uring is the default since.
//
// The reader first decides by the source address (source.go, the defence against RTP Bleed):
// the address the SDP names, or — once, early, from SessionConfig.SignalIP, never with
// StrictRTP — a NAT mapping of it (symmetric RTP). Every other datagram is foreign: dropped
// and counted (Stats.Foreign, SessionConfig.OnForeign), whatever SSRC and sequence numbers it
// copies. Then each packet must be RTP version 2, of a negotiated payload type, of the locked
// SSRC (a new one from the same peer is adopted after 3 in-sequence packets), and in sequence
// (serial-number arithmetic; duplicates and late audio dropped). Decoded audio, lost packets
// (as gaps, never as silence) and telephone-event payloads go to the DTMFStream (PCMU as its
// bytes, undecoded, to a stream that takes μ-law — dtmf.Stream.AudioULaw — when no recording
// or bridge wants the samples); Info feeds it out-of-band DTMF bodies in the same order. The audio is the stream's clock; after 0.5 s
// without RTP the scheduler advances it by wall time (hold, INFO-only callers), but never while
// the reader is behind — a datagram in hand or bytes queued in the socket — since a stalled
// reader is not a silent caller, and time added mid-tone would split one key in two. It does
// so at the stream's deadlines (dtmf.Stream.Deadline: a key to end, a keypress to forget,
// dtmf.StallLimit), in one step, and before new input (a packet, an INFO body) reaches the
// stream; not every tick. No RTP for SessionConfig.Timeout while the far end should send calls
// OnTimeout (judged by the scheduler, on time to a tick) and stops reception. Per packet the
// reader takes no lock but the stream's: the source rules see a new SDP through an atomic
// generation number.
//
// # Sending
//
// One Scheduler paces every session from a 10 ms tick: each session sends the frames that are
// due (20 or 30 ms), one SSRC and one sequence space, timestamps from sample counts, the marker
// at each talkspurt. Silence between prompts is suppressed, with a keep-alive packet a second.
// After a stall of more than 5 frames a session resynchronises instead of bursting. The
// Scheduler measures how late each packet left (Jitter).
//
// A tick visits only the sessions that are due (a timer wheel of 10 ms slots): a session that
// plays a prompt, sends keys or relays a bridge every tick; any other when its next keep-alive,
// its RTP timeout, the start of its idle DTMF clock or the stream's next deadline comes, at
// most 2.55 s apart. Its RTP timestamp keeps running while it sleeps (the frames it slept
// through count as produced, never as skipped). Play, SendDigit, SetParams, a bridge, an INFO
// body and the first packet after an idle spell wake it for the next tick. So a tick costs the
// sessions due, not every session: a call that listens for keys with its silence suppressed is
// visited about twice a second, not 100 times.
//
// Sessions that play the same samples at once (a prompt from the loader's cache) share one
// G.711 encoding of them per law, made by the first Play and copied into each packet; the last
// playback of the samples to end drops and clears it (encoded.go). The RTP header is written in
// place. What goes on the wire is byte for byte what encoding each frame gave.
//
// # SRTP
//
// NegotiateWith applies an SRTPPolicy (off, optional, required) to an offer: an RTP/SAVP(F)
// stream, or an RTP/AVP one carrying a=crypto lines, is encrypted with the first usable SDES
// line (ParseCrypto: RFC 4568's suites and RFC 6188/7714's AES-256 and AES-GCM, through
// pion/srtp); Params.Crypto is the far end's line. SetParams installs the keys: the far end's
// decrypts, ours — fresh from crypto/rand for an answer (LocalCrypto, put in
// LocalMedia.Crypto), or the line of our own offer (OfferCryptos) the answer chose — encrypts.
// The first SetParams fixes whether a session is encrypted; a later one with a new far-end key
// re-keys both directions (the previous receive key is still tried for 2 s). The reader
// authenticates each packet from the media peer before anything else sees it; failures and
// replays are dropped and counted (Stats, SessionConfig.OnSRTPDrop), never logged one by one.
// Every key a session holds is zeroed when it is replaced and at Close; a Crypto prints masked.
// SRTP is the same pairing for a caller that runs its own RTP loop (the test caller).
//
// # Card data
//
// Record writes the far end's audio only after a Masker (dtmf's look-ahead tone remover): no
// key tone survives, and while SetSecure(true) holds (the Pay step's capture) only the fill is
// written. Keys leave a session only through its DTMFStream; errors never quote payloads.
// A Bridge masks the caller→agent direction the same way during a capture, and after it until
// the caller has sent 5 s of its own audio without a tone (relay.go: releaseAfter), so the
// rest of a key cut by a stall or a loss never reaches the agent.
package media
