package captureline

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/paybridge/paybridge/dtmf"
	"github.com/paybridge/paybridge/media"
	"github.com/paybridge/paybridge/sandbox"
)

// onInvite answers one call and runs it to its end (sipgo runs each request's handler on its
// own goroutine).
func (l *Line) onInvite(ctx context.Context, req *sip.Request, tx sip.ServerTransaction) {
	l.wg.Add(1)
	defer l.wg.Done()
	if ctx.Err() != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil))
		return
	}
	offer, err := media.ParseSDP(req.Body())
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here: "+err.Error(), nil))
		return
	}
	params, err := media.Negotiate(offer)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here: "+err.Error(), nil))
		return
	}
	ds, err := l.dc.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, "Bad Request", nil))
		return
	}
	defer ds.Close()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(l.cfg.IP, 0)))
	if err != nil {
		_ = ds.Respond(503, "Service Unavailable", nil)
		return
	}
	log := l.cfg.Logger.With("call", req.CallID().Value())
	col := newCollector()
	defer col.wipe()
	stream := dtmf.NewStream(dtmf.StreamConfig{OnDigit: func(ev dtmf.Event) { col.key(ev.Digit) }})
	ms := media.NewSession(conn, media.SessionConfig{Scheduler: l.sched, DTMF: stream, Timeout: 30 * time.Second,
		OnTimeout: col.stop, StrictRTP: false, Logger: log})
	defer ms.Close()
	ms.SetParams(params)
	answer := media.BuildAnswer(offer, params, media.LocalMedia{IP: l.cfg.IP, Port: conn.LocalAddr().(*net.UDPAddr).Port,
		SessionID: rand.Uint64() >> 1, Version: 1})
	if err := ds.RespondSDP(answer); err != nil {
		log.Warn("capture line: answering", "err", err)
		return
	}
	ms.Start()
	log.Info("capture line: answered")

	cctx, cancel := context.WithTimeout(ctx, l.cfg.CallTimeout)
	defer cancel()
	why := l.serve(cctx, ds.Context(), col, log)
	if ds.Context().Err() == nil {
		hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := ds.Bye(hctx); err != nil {
			log.Warn("capture line: hanging up", "err", err)
		}
		hcancel()
	}
	log.Info("capture line: call ended", "why", why)
}

// serve reads the link id, then cards, until the session is decided or the call ends; it
// returns why the call ends.
func (l *Line) serve(ctx, dialog context.Context, col *collector, log *slog.Logger) string {
	link, why := col.await(ctx, dialog, l.cfg.KeyTimeout, phaseLink)
	if why != "" {
		return why
	}
	if _, err := l.cfg.Ledger.LineSession(link); err != nil {
		log.Warn("capture line: link id", "err", err)
		return "no open session has the link id"
	}
	log.Info("capture line: link id found")
	for {
		if _, why := col.await(ctx, dialog, l.cfg.KeyTimeout, phaseDone); why != "" {
			return why
		}
		res, err := l.cfg.Ledger.PayOnLine(link, col.card())
		col.wipeCard()
		switch {
		case errors.Is(err, sandbox.ErrSessionClosed), errors.Is(err, sandbox.ErrUnknownLink):
			return "the session closed"
		case err != nil:
			return "paying: " + err.Error()
		}
		log.Info("capture line: card", "session", res.SessionID, "card", res.MaskedCard, "outcome", res.Outcome,
			"error_code", res.ErrorCode, "state", res.SessionState)
		if res.Outcome == "approved" || (res.SessionState != "Created" && res.SessionState != "InProgress") {
			return "session " + res.SessionState
		}
		col.next()
	}
}
