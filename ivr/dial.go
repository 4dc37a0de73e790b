package ivr

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/internal/sipsafe"
	"github.com/paybridge/paybridge/media"
)

// The B2BUA: a call places a second leg (Dial) and is bridged to it through the media layer.
//
//	caller ══ Call (UAS dialog, media.Session) ══ media.Bridge ══ Leg (UAC dialog, media.Session) ══ agent / PBX
//
// The leg's INVITE offers the caller's codec first and the other G.711 law second (the bridge
// transcodes when the far end picks it), telephone-event, and the caller's ptime. While it
// rings the caller hears the far end's early media (a 183 or 180 with SDP: bridged at once)
// or, when there is none, a ring-back tone. A 401/407 is answered with the target's digest
// credentials. When the caller hangs up first the ringing INVITE is CANCELled; a BYE from
// either side once answered ends the bridge (the caller's BYE ends the leg with it; the
// leg's BYE leaves the caller with the plan).

// Leg is a call leg paybridge placed for a Call and bridged to it. It implements
// engine.Bridge.
type Leg struct {
	call   *Call
	srv    *Server
	uri    string
	agent  string
	dialog *sipgo.DialogClientSession
	media  *media.Session
	port   int

	bridgeMu sync.Mutex
	bridge   *media.Bridge
	// final: the bridge's figures when the leg released it (the engine reads them after the
	// leg ended, for its call.unbridged event).
	final struct{ toLeg, toCaller media.BridgeStats }

	sdpID, sdpVersion uint64
	localSDP          []byte
	dialogID          string

	mediaStarted atomic.Bool
	established  atomic.Bool
	done         chan struct{}
	endOnce      sync.Once
	cause        string

	stopRing func()
	record   engine.DialRequest
	n        int // the leg's number within its call (1, 2, …)

	releaseOnce sync.Once
}

var (
	_ engine.Dialer = (*Call)(nil)
	_ engine.Bridge = (*Leg)(nil)
)

// Dial tries req's targets in order and bridges the call to the first that answers
// (engine.Dialer).
func (c *Call) Dial(ctx context.Context, req engine.DialRequest) (engine.Bridge, engine.DialResult) {
	res := engine.DialResult{Status: engine.DialFailed}
	if c.isEnded() {
		res.Status = engine.DialCallerHungUp
		return nil, res
	}
	if c.leg.Load() != nil {
		res.Reason = "the call is already bridged"
		return nil, res
	}
	if len(req.Targets) == 0 {
		res.Reason = "no target"
		return nil, res
	}
	for i, t := range req.Targets {
		leg, status, code, reason := c.dialOne(ctx, t, req)
		res.Status, res.Target, res.SIPStatus, res.Reason = status, i, code, reason
		res.Attempts = append(res.Attempts, engine.DialAttempt{URI: t.URI, Status: status, SIPStatus: code, Agent: agentOf(t)})
		switch status {
		case engine.DialAnswered:
			res.Agent = leg.agent
			return leg, res
		case engine.DialCallerHungUp:
			return nil, res
		}
	}
	return nil, res
}

func agentOf(t engine.DialTarget) string {
	if t.Agent != "" {
		return t.Agent
	}
	var u sip.Uri
	if err := sip.ParseUri(t.URI, &u); err == nil {
		return u.User
	}
	return ""
}

// targetURI checks a Dial target.
func targetURI(s string) (sip.Uri, error) {
	var u sip.Uri
	s = strings.TrimSpace(s)
	if err := sipsafe.CheckHeaderValue(s); err != nil {
		return u, err
	}
	if !strings.HasPrefix(s, "sip:") && !strings.HasPrefix(s, "sips:") || strings.ContainsAny(s, "<> \t\"") {
		return u, fmt.Errorf("%w: a Dial target is a sip: or sips: URI", sipsafe.ErrBadHeaderValue)
	}
	if err := sip.ParseUri(s, &u); err != nil || u.Host == "" {
		return u, fmt.Errorf("%w: %q is not a SIP URI", sipsafe.ErrBadHeaderValue, s)
	}
	if u.Port == 0 {
		u.Port = 5060
		if u.Scheme == "sips" {
			u.Port = 5061
		}
	}
	return u, nil
}

// dialOne places one leg: INVITE, the ringing, the answer. It returns the leg when answered.
func (c *Call) dialOne(ctx context.Context, t engine.DialTarget, req engine.DialRequest) (*Leg, string, int, string) {
	s := c.srv
	uri, err := targetURI(t.URI)
	if err != nil {
		return nil, engine.DialFailed, 0, err.Error()
	}
	callerID := req.CallerID
	if callerID == "" {
		callerID = c.info.From
	}
	if callerID == "" || sipsafe.CheckHeaderValue(callerID) != nil || strings.ContainsAny(callerID, "<>\"@:; ") {
		callerID = "paybridge"
	}
	conn, port, err := s.ports.Get()
	if err != nil {
		return nil, engine.DialFailed, 0, err.Error()
	}
	l := &Leg{call: c, srv: s, uri: uri.String(), agent: agentOf(t), port: port, done: make(chan struct{}),
		sdpID: rand.Uint64() >> 1, sdpVersion: 1, record: req, n: int(c.legs.Add(1))}
	signal := netip.Addr{}
	if ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", uri.Host); err == nil && len(ips) > 0 {
		signal = ips[0].Unmap()
	}
	l.media = media.NewSession(conn, media.SessionConfig{
		Scheduler: s.sched,
		DTMF:      s.cfg.NewDTMF(l.deliver),
		Timeout:   max(s.cfg.MediaTimeout, 0),
		OnTimeout: func() { l.end("media-timeout", true) },
		StrictRTP: s.cfg.StrictRTP,
		SignalIP:  signal,
		OnForeign: s.metrics.RTPForeign,
		Logger:    s.log.With("call_id", c.info.ID, "leg", l.uri),
	})
	caller := c.media.Params()
	offer := media.BuildOfferWith(media.LocalMedia{IP: s.ip, Port: port, SessionID: l.sdpID, Version: l.sdpVersion},
		media.OfferOptions{Prefer: caller.Codec, PTime: caller.PTime})
	l.localSDP = offer

	invite := sip.NewRequest(sip.INVITE, uri)
	if tr, ok := uri.UriParams.Get("transport"); ok && tr != "" {
		invite.SetTransport(strings.ToUpper(tr))
	} else if uri.Scheme == "sips" {
		invite.SetTransport("TLS")
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: callerID, Host: s.ip.String()}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	invite.AppendHeader(from)
	invite.AppendHeader(&sip.ToHeader{Address: uri, Params: sip.NewParams()})
	invite.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	invite.AppendHeader(sip.NewHeader(CallIDHeader, c.ID())) // the agent's desktop can name the call to the Payments API
	invite.AppendHeader(sip.NewHeader("Allow", allowed))
	invite.SetBody(offer)

	// The ring: bounded by the target's timeout, cancelled (CANCEL) when the caller hangs up.
	ringCtx, stopRing := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stopRing(nil)
	timer := time.AfterFunc(req.Timeout, func() { stopRing(errRingTimeout) })
	defer timer.Stop()
	go func() {
		select {
		case <-c.done:
			stopRing(errCallerGone)
		case <-ctx.Done():
			stopRing(errCallerGone)
		case <-ringCtx.Done():
		}
	}()

	sess, err := s.dialogs.WriteInvite(ringCtx, invite)
	if err != nil {
		l.release()
		return nil, engine.DialFailed, 0, "INVITE: " + err.Error()
	}
	l.dialog = sess
	if req.Record && req.FromRinging {
		l.startRecording()
	}
	err = l.waitAnswer(ringCtx, sess, t)
	code := 0
	if sess.InviteResponse != nil {
		code = sess.InviteResponse.StatusCode
	}
	cause := context.Cause(ringCtx)
	switch {
	case err == nil:
	case errors.Is(cause, errCallerGone) || c.isEnded():
		l.release()
		return nil, engine.DialCallerHungUp, code, "the caller hung up while it rang"
	case errors.Is(cause, errRingTimeout):
		l.release()
		return nil, engine.DialNoAnswer, code, fmt.Sprintf("no answer within %v", req.Timeout)
	default:
		l.release()
		var re *sipgo.ErrDialogResponse
		if errors.As(err, &re) {
			return nil, dialStatus(re.Res.StatusCode), re.Res.StatusCode, re.Res.Reason
		}
		return nil, engine.DialFailed, code, err.Error()
	}
	if err := l.answered(sess); err != nil {
		l.release()
		return nil, engine.DialFailed, sip.StatusNotAcceptableHere, err.Error()
	}
	return l, engine.DialAnswered, code, ""
}

var (
	errRingTimeout = errors.New("ivr: no answer in time")
	errCallerGone  = errors.New("ivr: the caller hung up")
)

// dialStatus maps a final SIP status to a Dial result (TwiML's).
func dialStatus(code int) string {
	switch code {
	case sip.StatusBusyHere, 600, 603:
		return engine.DialBusy
	case sip.StatusRequestTimeout, sip.StatusTemporarilyUnavailable, sip.StatusRequestTerminated:
		return engine.DialNoAnswer
	}
	return engine.DialFailed
}

// waitAnswer waits for the final answer; provisional answers start early media or ring-back.
// When nothing at all answered by the time the ring ends there is nothing to CANCEL (RFC 3261
// section 9.1): the transaction is dropped at once.
func (l *Leg) waitAnswer(ctx context.Context, sess *sipgo.DialogClientSession, t engine.DialTarget) error {
	var heard atomic.Bool
	wctx, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	defer stop(nil)
	go func() {
		select {
		case <-ctx.Done():
			if heard.Load() {
				stop(context.Cause(ctx)) // ringing: sipgo CANCELs the INVITE
			} else {
				stop(sipgo.WaitAnswerForceCancelErr)
			}
		case <-wctx.Done():
		}
	}()
	defer l.stopRingback()
	opts := sipgo.AnswerOptions{Username: t.Username, Password: t.Password, OnResponse: func(res *sip.Response) error {
		if res.StatusCode > 100 {
			heard.Store(true)
		}
		if res.IsProvisional() && res.StatusCode > 100 {
			l.provisional(res)
		}
		return nil
	}}
	for {
		err := sess.WaitAnswer(wctx, opts)
		if err != nil && strings.Contains(err.Error(), "more than 10 responses") && wctx.Err() == nil {
			continue // a PBX that repeats its 180s: keep waiting for the final answer
		}
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
}

// provisional handles a 18x: early media when it carries SDP, ring-back otherwise.
func (l *Leg) provisional(res *sip.Response) {
	if body := res.Body(); len(body) > 0 {
		if p, err := negotiateAnswer(body); err == nil {
			l.stopRingback()
			l.startMedia(p)
			return
		}
	}
	if !l.mediaStarted.Load() {
		l.startRingback()
	}
}

func negotiateAnswer(body []byte) (media.Params, error) {
	sd, err := media.ParseSDP(body)
	if err != nil {
		return media.Params{}, err
	}
	return media.Negotiate(sd)
}

// startMedia installs the far end's parameters and, the first time, starts the leg's media and
// bridges it to the caller.
func (l *Leg) startMedia(p media.Params) {
	l.media.SetParams(p)
	if l.mediaStarted.Swap(true) {
		return
	}
	l.media.Start()
	l.bridgeMu.Lock()
	l.bridge = media.NewBridge(l.call.media, l.media, media.BridgeConfig{NewMasker: l.srv.cfg.NewMasker})
	l.bridgeMu.Unlock()
	l.call.leg.Store(l)
	if l.record.Record && l.record.FromRinging {
		l.startRecording()
	}
}

// answered completes the leg on a 2xx: its SDP (the answer to our offer), the ACK, the media.
func (l *Leg) answered(sess *sipgo.DialogClientSession) error {
	p, err := negotiateAnswer(sess.InviteResponse.Body())
	if err != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = sess.Ack(ctx)
		_ = sess.Bye(ctx)
		return fmt.Errorf("the answer's SDP: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	err = sess.Ack(ctx)
	cancel()
	if err != nil {
		return fmt.Errorf("ACK: %w", err)
	}
	l.dialogID = sess.ID
	l.srv.addLeg(l)
	l.established.Store(true)
	l.startMedia(p)
	if l.record.Record {
		l.startRecording()
	}
	l.srv.log.Info("leg answered", "call_id", l.call.info.ID, "target", l.uri, "agent", l.agent,
		"codec", p.Codec.Name(), "caller_codec", l.call.media.Params().Codec.Name())
	return nil
}

// startRingback plays the ring-back tone to the caller until stopRingback.
func (l *Leg) startRingback() {
	l.bridgeMu.Lock()
	defer l.bridgeMu.Unlock()
	if l.stopRing != nil {
		return
	}
	pcm, ok := media.RingbackTone(l.record.RingTone)
	if !ok {
		pcm, _ = media.RingbackTone(media.RingUS)
	}
	ctx, cancel := context.WithCancel(l.call.ctx)
	l.stopRing = cancel
	go func() {
		for ctx.Err() == nil {
			if err := l.call.media.Play(ctx, pcm); err != nil {
				return
			}
		}
	}()
}

func (l *Leg) stopRingback() {
	l.bridgeMu.Lock()
	defer l.bridgeMu.Unlock()
	if l.stopRing != nil {
		l.stopRing()
	}
}

// startRecording records the bridge (both legs, masked) into the recordings directory.
func (l *Leg) startRecording() {
	l.bridgeMu.Lock()
	br := l.bridge
	l.bridgeMu.Unlock()
	if br == nil {
		return // from-ringing without early media: recording starts with the bridge
	}
	dir := l.srv.cfg.RecordDir
	if dir == "" {
		l.srv.log.Warn("Dial asks for a recording but no recordings directory is configured", "call_id", l.call.info.ID)
		return
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		l.srv.log.Warn("bridge recording not started", "call_id", l.call.info.ID, "err", err)
		return
	}
	if err := br.Record(l.RecordingPath(), media.RecordOptions{Dual: l.record.RecordDual}); err != nil {
		l.srv.log.Warn("bridge recording not started", "call_id", l.call.info.ID, "err", err)
	}
}

// RecordingPath is where the bridge's recording is written (when Dial asked for one): the
// call's id and the leg's number within the call.
func (l *Leg) RecordingPath() string {
	return filepath.Join(l.srv.cfg.RecordDir, l.call.info.ID+"-bridge-"+strconv.Itoa(l.n)+".wav")
}

// deliver is the leg's DTMF stream: the far end's keys are regenerated towards the caller
// (those it sent in-band reach the caller as audio already).
func (l *Leg) deliver(e dtmf.Event) {
	if e.Source == dtmf.SourceInband {
		return
	}
	l.bridgeMu.Lock()
	br := l.bridge
	l.bridgeMu.Unlock()
	if br != nil {
		_ = br.SendDigit(l.call.media, e.Digit)
	}
}

// callerKey is called for each of the caller's keys while the call is bridged: during a
// payment — and after one while the bridge still masks the caller (media.Bridge.Masking: keys
// typed on after a cancel) — the far end hears a neutral beep and nothing of the key;
// otherwise a key the caller sent out of band is regenerated towards the leg.
func (l *Leg) callerKey(e dtmf.Event) {
	l.bridgeMu.Lock()
	br := l.bridge
	l.bridgeMu.Unlock()
	if br == nil {
		return
	}
	if br.Masking() {
		br.Beep()
		return
	}
	if e.Source != dtmf.SourceInband {
		_ = br.SendDigit(l.media, e.Digit)
	}
}

// Done is closed when the leg has ended.
func (l *Leg) Done() <-chan struct{} { return l.done }

// Agent is who the leg reached.
func (l *Leg) Agent() string { return l.agent }

// Hangup ends the leg (BYE); the caller stays up.
func (l *Leg) Hangup(ctx context.Context) error {
	l.end("hangup", true)
	return nil
}

// SetCapture sets what the far end gets of the caller (engine.Bridge).
func (l *Leg) SetCapture(c engine.Capture, pauseRecording bool) {
	l.bridgeMu.Lock()
	br := l.bridge
	l.bridgeMu.Unlock()
	if br == nil {
		return
	}
	br.PauseDuringCapture(pauseRecording)
	switch c {
	case engine.CaptureMasked:
		br.SetCapture(media.CaptureMasked)
	case engine.CaptureSecure:
		br.SetCapture(media.CaptureSecure)
	default:
		br.SetCapture(media.CaptureOff)
	}
}

// SendDigits keys digits towards the leg and returns once they have gone out.
func (l *Leg) SendDigits(ctx context.Context, digits string) error {
	l.bridgeMu.Lock()
	br := l.bridge
	l.bridgeMu.Unlock()
	if br == nil {
		return media.ErrNotBridged
	}
	for i := 0; i < len(digits); i++ {
		d, ok := dtmf.ParseDigit(digits[i])
		if !ok {
			return dtmf.ErrNotDigit
		}
		if err := br.SendDigit(l.media, d); err != nil {
			return err
		}
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for br.DigitsPending(l.media) {
		select {
		case <-t.C:
		case <-l.done:
			return engine.ErrHangup
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Stats reports the caller→leg direction's figures (engine.Bridge).
func (l *Leg) Stats() engine.BridgeStats {
	toLeg, _ := l.BridgeStats()
	return engine.BridgeStats{Frames: toLeg.Frames, FramesSkipped: toLeg.Underruns, MaxDelay: toLeg.MaxDelay}
}

// BridgeStats reports both directions' figures (to the leg, to the caller): while bridged,
// and after the leg ended, those it ended with.
func (l *Leg) BridgeStats() (toLeg, toCaller media.BridgeStats) {
	l.bridgeMu.Lock()
	br, final := l.bridge, l.final
	l.bridgeMu.Unlock()
	if br == nil {
		return final.toLeg, final.toCaller
	}
	return br.Stats()
}

// end ends the leg once: BYE when we end an established leg, the bridge and the media
// released, Done closed.
func (l *Leg) end(cause string, sendBye bool) {
	l.endOnce.Do(func() {
		l.cause = cause
		if sendBye && l.established.Load() && l.dialog != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if err := l.dialog.Bye(ctx); err != nil {
				l.srv.log.Debug("leg BYE failed", "call_id", l.call.info.ID, "err", err)
			}
			cancel()
		}
		l.release()
		l.srv.log.Info("leg ended", "call_id", l.call.info.ID, "target", l.uri, "cause", cause)
	})
}

// release frees what the leg holds, once.
func (l *Leg) release() {
	l.releaseOnce.Do(func() {
		l.stopRingback()
		l.bridgeMu.Lock()
		br := l.bridge
		if br != nil {
			br.Close() // detached first: the figures kept are the last
			l.final.toLeg, l.final.toCaller = br.Stats()
		}
		l.bridge = nil
		l.bridgeMu.Unlock()
		if br != nil {
			l.srv.bridgeTotals.add(l.final.toLeg, l.final.toCaller)
		}
		l.call.leg.CompareAndSwap(l, nil)
		l.media.Close()
		l.srv.ports.Put(l.port)
		if l.dialog != nil {
			l.dialog.Close()
		}
		l.srv.removeLeg(l)
		close(l.done)
	})
}

// --- in-dialog requests from the leg's far end ---

// legFor finds the leg an in-dialog request belongs to (paybridge is the UAC of that dialog).
func (s *Server) legFor(req *sip.Request) *Leg {
	id, err := sip.DialogIDFromRequestUAC(req)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.legs[id]
}

func (s *Server) addLeg(l *Leg) {
	s.mu.Lock()
	if s.legs == nil {
		s.legs = map[string]*Leg{}
	}
	s.legs[l.dialogID] = l
	s.mu.Unlock()
}

func (s *Server) removeLeg(l *Leg) {
	if l.dialogID == "" {
		return
	}
	s.mu.Lock()
	if s.legs[l.dialogID] == l {
		delete(s.legs, l.dialogID)
	}
	s.mu.Unlock()
}

// legRequest answers an in-dialog request of a leg; false when req belongs to no leg.
func (s *Server) legRequest(req *sip.Request, tx sip.ServerTransaction) bool {
	l := s.legFor(req)
	if l == nil {
		return false
	}
	switch req.Method {
	case sip.BYE:
		s.metrics.SIPResponse("BYE", sip.StatusOK)
		if err := l.dialog.ReadBye(req, tx); err != nil {
			s.respond(tx, req, sip.StatusInternalServerError, "Server Internal Error")
		}
		go l.end("far-end-hangup", false)
	case sip.INFO:
		ct := ""
		if h := req.ContentType(); h != nil {
			ct = strings.ToLower(strings.TrimSpace(strings.Split(h.Value(), ";")[0]))
		}
		switch ct {
		case "":
			s.respond(tx, req, sip.StatusOK, "OK")
		case "application/dtmf-relay", "application/dtmf":
			if l.media.Info(ct, req.Body()) != nil {
				s.respond(tx, req, sip.StatusBadRequest, "Bad DTMF Body")
				return true
			}
			s.respond(tx, req, sip.StatusOK, "OK")
		default:
			s.respond(tx, req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", sip.NewHeader("Accept", "application/dtmf-relay, application/dtmf"))
		}
	case sip.INVITE, sip.UPDATE:
		l.modify(req, tx)
	case sip.ACK:
	default:
		s.respond(tx, req, sip.StatusOK, "OK")
	}
	return true
}

// modify answers the far end's re-INVITE or UPDATE (hold, resume, a new address): the new
// parameters take effect and our answer goes back (o= version bumped when it changed).
func (l *Leg) modify(req *sip.Request, tx sip.ServerTransaction) {
	s := l.srv
	body, ok := sdpBody(req)
	if !ok {
		s.respond(tx, req, sip.StatusUnsupportedMediaType, "Unsupported Media Type", sip.NewHeader("Accept", "application/sdp"))
		return
	}
	if len(body) > 0 {
		sd, err := media.ParseSDP(body)
		var p media.Params
		if err == nil {
			p, err = media.Negotiate(sd)
		}
		if err != nil {
			s.respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here", sip.NewHeader("Warning", warning(s.ip, err)))
			return
		}
		old := l.media.Params()
		l.media.SetParams(p)
		if p.Direction != old.Direction || p.Codec != old.Codec || p.EventPT != old.EventPT || p.PTime != old.PTime {
			l.sdpVersion++
		}
		l.localSDP = media.BuildAnswer(sd, p, media.LocalMedia{IP: s.ip, Port: l.port, SessionID: l.sdpID, Version: l.sdpVersion})
	}
	res := sip.NewSDPResponseFromRequest(req, l.localSDP)
	res.AppendHeader(&s.contact)
	s.metrics.SIPResponse(string(req.Method), sip.StatusOK)
	tx.Respond(res)
}

// bridgeTotals sums the figures of every bridge the server has closed.
type bridgeTotals struct {
	mu                sync.Mutex
	bridges           int64
	toLeg, toCaller   media.BridgeStats
	maxLeg, maxCaller time.Duration
}

func (t *bridgeTotals) add(toLeg, toCaller media.BridgeStats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.bridges++
	sum := func(a *media.BridgeStats, b media.BridgeStats) {
		a.Frames += b.Frames
		a.Played += b.Played
		a.Underruns += b.Underruns
		a.Trimmed += b.Trimmed
		a.MaxDelay = max(a.MaxDelay, b.MaxDelay)
		a.MeanDelay = max(a.MeanDelay, b.MeanDelay)
	}
	sum(&t.toLeg, toLeg)
	sum(&t.toCaller, toCaller)
}

// BridgeTotals are the summed figures of every bridge the server has ended: frames due
// towards the legs and the callers, frames skipped for want of audio while the source was
// sending, and the longest any relayed sample waited (MaxDelay; MeanDelay is the largest mean
// of one bridge).
type BridgeTotals struct {
	Bridges  int64             `json:"bridges"`
	ToLeg    media.BridgeStats `json:"to_leg"`
	ToCaller media.BridgeStats `json:"to_caller"`
}

// BridgeTotals reports the figures of the bridges ended so far.
func (s *Server) BridgeTotals() BridgeTotals {
	s.bridgeTotals.mu.Lock()
	defer s.bridgeTotals.mu.Unlock()
	return BridgeTotals{Bridges: s.bridgeTotals.bridges, ToLeg: s.bridgeTotals.toLeg, ToCaller: s.bridgeTotals.toCaller}
}
