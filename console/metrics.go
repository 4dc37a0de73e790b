package console

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are paybridge's Prometheus metrics. Labels are closed sets (outcomes, results,
// connector names from the plans, DTMF sources, SIP codes): never a number, a reference or a
// card. A nil *Metrics is valid and records nothing, so packages can take one optionally.
type Metrics struct {
	activeCalls     prometheus.Gauge
	calls           *prometheus.CounterVec
	payments        *prometheus.CounterVec
	operations      *prometheus.CounterVec
	digits          *prometheus.CounterVec
	rtpReceived     prometheus.Counter
	rtpLost         prometheus.Counter
	rtpForeign      prometheus.Counter
	srtpDropped     *prometheus.CounterVec
	providerLatency *prometheus.HistogramVec
	sipResponses    *prometheus.CounterVec

	payResults       *prometheus.CounterVec
	entryErrors      *prometheus.CounterVec
	timeToPay        *prometheus.HistogramVec
	links            *prometheus.CounterVec
	providerRequests *prometheus.CounterVec

	callsRefused *prometheus.CounterVec
	socketDrops  *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		activeCalls: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "paybridge", Name: "active_calls", Help: "Calls in progress.",
		}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "calls_total", Help: "Finished calls by outcome.",
		}, []string{"outcome"}),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "payments_total", Help: "Payments by result and connector.",
		}, []string{"result", "connector"}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "payment_operations_total",
			Help: "Changes to payments after the Pay step, by event (payment.captured, refund.succeeded, payment.charged_back, …).",
		}, []string{"event"}),
		digits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "dtmf_digits_total", Help: "DTMF keypresses by source (inband, rfc4733, info).",
		}, []string{"source"}),
		rtpReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "rtp_packets_received_total", Help: "RTP packets received.",
		}),
		rtpLost: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "rtp_packets_lost_total", Help: "RTP packets lost (sequence gaps).",
		}),
		srtpDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "srtp_packets_dropped_total",
			Help: "SRTP packets dropped on calls' media ports: reason=auth (failed authentication: a wrong key, tampering, a forged or plain packet) or replay.",
		}, []string{"reason"}),
		rtpForeign: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "rtp_packets_foreign_total",
			Help: "Datagrams dropped on a call's media port because they came from an address other than the call's media peer (injection attempts).",
		}),
		providerLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "paybridge", Name: "provider_request_seconds", Help: "Payment provider request latency.",
			Buckets: []float64{0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30},
		}, []string{"connector"}),
		sipResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "sip_responses_total", Help: "SIP responses sent by status code.",
		}, []string{"code"}),
		payResults: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "pay_steps_total",
			Help: "Pay steps that ended, by plan and result: conversion by plan is result=\"success\" over all (calls reaching Pay).",
		}, []string{"plan", "result"}),
		entryErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "pay_entry_errors_total",
			Help: "Failed entries of a Pay field, by field and error type: where callers fail.",
		}, []string{"field", "error_type"}),
		timeToPay: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "paybridge", Name: "time_to_pay_seconds",
			Help:    "Time to a successful payment: from the call's start (channel voice).",
			Buckets: []float64{15, 30, 45, 60, 90, 120, 180, 300, 600},
		}, []string{"channel"}),
		links: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "payment_links_total",
			Help: "Payment links by what happened: sent, paid, declined (a submission), not-sent: link conversion is paid over sent.",
		}, []string{"outcome"}),
		providerRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "provider_requests_total",
			Help: "Payment provider requests by connector and outcome (2xx, 3xx, 4xx, 5xx, or error when no answer was read).",
		}, []string{"connector", "outcome"}),
		callsRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "calls_refused_total",
			Help: "New calls answered 503 by reason: overload (the admission limit: more calls would degrade those up), max-calls (the ceiling), draining, no-ports.",
		}, []string{"reason"}),
		socketDrops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "udp_socket_drops_total",
			Help: "Datagrams the kernel dropped because a socket's receive queue was full, by socket (rtp: the calls' media ports, sip).",
		}, []string{"socket"}),
	}
	// Both label sets are closed: every value exists from the start, at 0.
	for _, r := range []string{"overload", "max-calls", "draining", "no-ports"} {
		m.callsRefused.WithLabelValues(r)
	}
	for _, s := range []string{"rtp", "sip"} {
		m.socketDrops.WithLabelValues(s)
	}
	if reg != nil {
		reg.MustRegister(m.activeCalls, m.calls, m.payments, m.operations, m.digits, m.rtpReceived, m.rtpLost, m.rtpForeign, m.srtpDropped, m.providerLatency, m.sipResponses,
			m.payResults, m.entryErrors, m.timeToPay, m.links, m.providerRequests, m.callsRefused, m.socketDrops)
	}
	return m
}

// PayStep counts a Pay step's end on a plan, whatever its result.
func (m *Metrics) PayStep(plan, result string) {
	if m != nil {
		m.payResults.WithLabelValues(label(plan), label(result)).Inc()
	}
}

// EntryError counts a failed entry of a Pay field (payment-card-number, …) with its error type.
func (m *Metrics) EntryError(field, errorType string) {
	if m != nil {
		m.entryErrors.WithLabelValues(label(field), label(errorType)).Inc()
	}
}

// TimeToPay observes the time a successful payment took on channel (voice).
func (m *Metrics) TimeToPay(channel string, d time.Duration) {
	if m != nil {
		m.timeToPay.WithLabelValues(label(channel)).Observe(d.Seconds())
	}
}

// Link counts what happened to a payment link: sent, paid, declined, not-sent.
func (m *Metrics) Link(outcome string) {
	if m != nil {
		m.links.WithLabelValues(label(outcome)).Inc()
	}
}

// ProviderRequest counts one provider request by its HTTP status class, or "error" (status 0).
func (m *Metrics) ProviderRequest(connector string, status int) {
	if m == nil {
		return
	}
	outcome := "error"
	if status >= 200 && status <= 599 {
		outcome = strconv.Itoa(status/100) + "xx"
	}
	m.providerRequests.WithLabelValues(label(connector), outcome).Inc()
}

// SpeechStats are the counters of the speech cache (tts.CacheStats), for RegisterSpeech.
type SpeechStats struct {
	MemoryHits, DiskHits, Renders int64
}

// RegisterSpeech exports the speech cache's counters as paybridge_tts_requests_total{served}
// (memory, disk, render): how often <Say> was served without rendering.
func (m *Metrics) RegisterSpeech(reg prometheus.Registerer, stats func() SpeechStats) {
	if m == nil || reg == nil || stats == nil {
		return
	}
	for served, f := range map[string]func(SpeechStats) int64{
		"memory": func(s SpeechStats) int64 { return s.MemoryHits },
		"disk":   func(s SpeechStats) int64 { return s.DiskHits },
		"render": func(s SpeechStats) int64 { return s.Renders },
	} {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "paybridge", Name: "tts_requests_total",
			Help:        "Speech requests of <Say> by how they were served: from memory, from the disk cache, or rendered.",
			ConstLabels: prometheus.Labels{"served": served}}, func() float64 { return float64(f(stats())) }))
	}
}

// RegisterHub exports the hub's subscriber count as paybridge_console_clients and dropped
// subscribers as paybridge_console_clients_dropped_total.
func (m *Metrics) RegisterHub(reg prometheus.Registerer, h *Hub) {
	if m == nil || reg == nil || h == nil {
		return
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "paybridge", Name: "console_clients",
			Help: "Live-feed subscribers connected."}, func() float64 { return float64(h.Stats().Subscribers) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "paybridge", Name: "console_clients_dropped_total",
			Help: "Live-feed subscribers dropped for falling behind."}, func() float64 { return float64(h.Stats().Dropped) }),
	)
}

// CallStarted counts a call in progress.
func (m *Metrics) CallStarted() {
	if m != nil {
		m.activeCalls.Inc()
	}
}

// CallEnded ends a call in progress with its outcome (completed, caller-hangup, failed, …).
func (m *Metrics) CallEnded(outcome string) {
	if m != nil {
		m.activeCalls.Dec()
		m.calls.WithLabelValues(label(outcome)).Inc()
	}
}

// Payment counts a payment result (success, declined, payment-connector-error, …) per connector.
func (m *Metrics) Payment(result, connector string) {
	if m != nil {
		m.payments.WithLabelValues(label(result), label(connector)).Inc()
	}
}

// PaymentOperation counts a change to a payment after the Pay step by its event type.
func (m *Metrics) PaymentOperation(eventType string) {
	if m != nil {
		m.operations.WithLabelValues(label(eventType)).Inc()
	}
}

// Digit counts one keypress by source ("inband", "rfc4733", "info"). Only the source: never
// the key.
func (m *Metrics) Digit(source string) {
	if m != nil {
		m.digits.WithLabelValues(label(source)).Inc()
	}
}

// RTP adds received and lost packet counts.
func (m *Metrics) RTP(received, lost int) {
	if m == nil {
		return
	}
	if received > 0 {
		m.rtpReceived.Add(float64(received))
	}
	if lost > 0 {
		m.rtpLost.Add(float64(lost))
	}
}

// SRTPDropped counts an SRTP packet dropped for failing authentication or as a replay.
func (m *Metrics) SRTPDropped(replay bool) {
	if m == nil {
		return
	}
	if replay {
		m.srtpDropped.WithLabelValues("replay").Inc()
	} else {
		m.srtpDropped.WithLabelValues("auth").Inc()
	}
}

// RTPForeign counts datagrams dropped because they came from a foreign source.
func (m *Metrics) RTPForeign(n int) {
	if m != nil && n > 0 {
		m.rtpForeign.Add(float64(n))
	}
}

// CallRefused counts a new call answered 503 for capacity (reason: overload, max-calls,
// draining, no-ports).
func (m *Metrics) CallRefused(reason string) {
	if m != nil {
		m.callsRefused.WithLabelValues(label(reason)).Inc()
	}
}

// SocketDrops counts datagrams the kernel dropped on a full receive queue ("rtp" or "sip").
func (m *Metrics) SocketDrops(socket string, n int64) {
	if m != nil && n > 0 {
		m.socketDrops.WithLabelValues(label(socket)).Add(float64(n))
	}
}

// Capacity is the admission controller's figure the console shows: calls up, the limit new
// calls are held to, and the calls refused for capacity since start.
type Capacity struct {
	Calls    int    `json:"calls"`
	Limit    int    `json:"limit"`
	Ceiling  int    `json:"ceiling"`
	Refused  int64  `json:"refused"`
	Degraded string `json:"degraded,omitempty"` // what degraded the media at the last look
}

// RegisterCapacity exports the admission limit as paybridge_call_limit (and its ceiling as
// paybridge_call_limit_ceiling) from f.
func (m *Metrics) RegisterCapacity(reg prometheus.Registerer, f func() Capacity) {
	if m == nil || reg == nil || f == nil {
		return
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "paybridge", Name: "call_limit",
			Help: "New calls are answered 503 at or over this many calls in progress (the admission limit)."},
			func() float64 { return float64(f().Limit) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "paybridge", Name: "call_limit_ceiling",
			Help: "The most the admission limit may reach (--max-calls, or the RTP ports)."},
			func() float64 { return float64(f().Ceiling) }),
	)
}

// ProviderLatency observes one provider request's duration.
func (m *Metrics) ProviderLatency(connector string, d time.Duration) {
	if m != nil {
		m.providerLatency.WithLabelValues(label(connector)).Observe(d.Seconds())
	}
}

// SIPResponse counts one SIP response sent.
func (m *Metrics) SIPResponse(code int) {
	if m != nil {
		if code < 100 || code > 699 {
			code = 0
		}
		m.sipResponses.WithLabelValues(strconv.Itoa(code)).Inc()
	}
}

// label keeps label values short, printable and free of card numbers.
func label(s string) string {
	if s == "" {
		return "unknown"
	}
	if len(s) > 64 {
		s = s[:64]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return "invalid"
		}
	}
	// A label is a name, not a number: a long digit run (a PAN) is never a valid one.
	digits := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			digits++
			if digits >= 7 {
				return "invalid"
			}
		} else {
			digits = 0
		}
	}
	return s
}
