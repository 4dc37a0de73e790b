package console

import (
	"slices"
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

	recordLate   *prometheus.CounterVec
	recordErrors *prometheus.CounterVec

	admissionTicks *prometheus.CounterVec
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
		recordLate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "call_record_writes_late_total",
			Help: "Calls that went on without waiting for their record write (write=start: the row at the answer; end: the hang-up) because the store had not answered in time: the write stays queued and lands when the store answers.",
		}, []string{"write"}),
		admissionTicks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "admission_ticks_total",
			Help: "Half-second looks of the admission controller that lowered the call limit (outcome=degraded) or held it (outcome=held), by reason: every episode, however short (paybridge_admission_degraded and _held show only the last look).",
		}, []string{"outcome", "reason"}),
		recordErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "call_record_write_errors_total",
			Help: "Call record writes the store failed, by write (start, rtp-foreign, socket-drops, srtp-auth, end).",
		}, []string{"write"}),
	}
	// These label sets are closed: every value exists from the start, at 0.
	for _, r := range []string{"overload", "max-calls", "draining", "no-ports"} {
		m.callsRefused.WithLabelValues(r)
	}
	for _, s := range []string{"rtp", "sip"} {
		m.socketDrops.WithLabelValues(s)
	}
	for _, w := range CallRecordWaits {
		m.recordLate.WithLabelValues(string(w))
	}
	for _, w := range CallRecordWrites {
		m.recordErrors.WithLabelValues(string(w))
	}
	if reg != nil {
		reg.MustRegister(m.activeCalls, m.calls, m.payments, m.operations, m.digits, m.rtpReceived, m.rtpLost, m.rtpForeign, m.srtpDropped, m.providerLatency, m.sipResponses,
			m.payResults, m.entryErrors, m.timeToPay, m.links, m.providerRequests, m.callsRefused, m.socketDrops,
			m.recordLate, m.recordErrors, m.admissionTicks)
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
// calls are held to and why it stands where it is, the calls refused for capacity since
// start, and the receive path's set-up.
type Capacity struct {
	Calls    int    `json:"calls"`
	Limit    int    `json:"limit"`
	Ceiling  int    `json:"ceiling"`
	Floor    int    `json:"floor,omitempty"`
	Auto     bool   `json:"auto,omitempty"`  // --max-calls auto: the ceiling is the RTP ports
	Fixed    bool   `json:"fixed,omitempty"` // --admission fixed: the limit is the ceiling, whatever the health
	Refused  int64  `json:"refused"`
	Degraded string `json:"degraded,omitempty"` // what degraded the media at the last look
	// Held is what kept the limit from rising at the last look without lowering it: "cpu"
	// (the process used over 90% of its CPUs) or "late" (a lone late tick; Late names it).
	Held string `json:"held,omitempty"`
	Late string `json:"late,omitempty"`
	// The last look's figures: the share of the CPUs the process used, the share of RTP
	// packets sent a frame late, the frames skipped, the calls' sockets behind, and the
	// datagrams the kernel dropped on the calls' and the SIP sockets since start.
	CPUShare      float64 `json:"cpu_share"`
	LateShare     float64 `json:"late_share"`
	SkippedFrames int64   `json:"skipped_frames"`
	Behind        int     `json:"behind"`
	SocketDrops   int64   `json:"socket_drops"`
	// RTPIO names the path that reads and writes the calls' media sockets (io_uring, epoll,
	// goroutine).
	RTPIO string `json:"rtp_io,omitempty"`
	// The UDP receive buffers (SO_RCVBUF) asked for and granted; granted below requested means
	// net.core.rmem_max caps them.
	RTPBufferRequested int `json:"rtp_buffer_requested,omitempty"`
	RTPBufferGranted   int `json:"rtp_buffer_granted,omitempty"`
	SIPBufferRequested int `json:"sip_buffer_requested,omitempty"`
	SIPBufferGranted   int `json:"sip_buffer_granted,omitempty"`
	// Goroutines now and when the node started serving (no calls): their difference over the
	// calls is the goroutines per call.
	Goroutines     int `json:"goroutines"`
	GoroutinesIdle int `json:"goroutines_idle"`
}

// CapacityReasons are the closed label sets of the admission metrics: every reason the
// controller can give for a degraded tick and for a held limit.
type CapacityReasons struct {
	Degraded, Held []string
}

// RegisterCapacity exports the admission controller's figure from f, read once per scrape:
// paybridge_call_limit (and its ceiling and floor), paybridge_admission_degraded{reason} and
// paybridge_admission_held{reason} (1 for the reason of the last look, 0 for the others), the
// last look's figures, paybridge_rtp_io{path} and paybridge_udp_receive_buffer_bytes.
func (m *Metrics) RegisterCapacity(reg prometheus.Registerer, f func() Capacity, reasons CapacityReasons) {
	if m == nil || reg == nil || f == nil {
		return
	}
	reg.MustRegister(&capacityCollector{f: f, reasons: reasons})
	for _, r := range reasons.Degraded {
		m.admissionTicks.WithLabelValues("degraded", label(r))
	}
	for _, r := range reasons.Held {
		m.admissionTicks.WithLabelValues("held", label(r))
	}
}

// AdmissionTick counts a look of the admission controller that lowered the limit (degraded
// names why) or held it (held names why).
func (m *Metrics) AdmissionTick(degraded, held string) {
	if m == nil {
		return
	}
	if degraded != "" {
		m.admissionTicks.WithLabelValues("degraded", label(degraded)).Inc()
	}
	if held != "" {
		m.admissionTicks.WithLabelValues("held", label(held)).Inc()
	}
}

var (
	descCallLimit = prometheus.NewDesc("paybridge_call_limit",
		"New calls are answered 503 at or over this many calls in progress (the admission limit).", nil, nil)
	descCallLimitCeiling = prometheus.NewDesc("paybridge_call_limit_ceiling",
		"The most the admission limit may reach (--max-calls, or the RTP ports).", nil, nil)
	descCallLimitFloor = prometheus.NewDesc("paybridge_call_limit_floor",
		"The least the admission limit may fall to (50 calls per CPU, or --max-calls below that).", nil, nil)
	descDegraded = prometheus.NewDesc("paybridge_admission_degraded",
		"1 when the last half-second look found the media degraded for this reason (the limit was lowered to 90% of the calls), else 0.", []string{"reason"}, nil)
	descHeld = prometheus.NewDesc("paybridge_admission_held",
		"1 when the last look held the limit where it was for this reason (cpu: the process used over 90% of its CPUs; late: one late tick alone), else 0.", []string{"reason"}, nil)
	descCPUShare = prometheus.NewDesc("paybridge_admission_cpu_share",
		"Share of the CPUs it may run on the process used over the last look (its own CPU time: 0-1).", nil, nil)
	descLateShare = prometheus.NewDesc("paybridge_admission_late_share",
		"Share of the RTP packets sent over the last look that left a frame (20 ms) or more late (0-1).", nil, nil)
	descSkipped = prometheus.NewDesc("paybridge_admission_skipped_frames",
		"Frames the media scheduler skipped over the last look.", nil, nil)
	descBehind = prometheus.NewDesc("paybridge_admission_sockets_behind",
		"Calls' RTP sockets holding over 16 KiB unread at the last look.", nil, nil)
	descRTPIO = prometheus.NewDesc("paybridge_rtp_io",
		"The path that reads and writes the calls' media sockets (always 1; the path is the label).", []string{"path"}, nil)
	descRcvBuf = prometheus.NewDesc("paybridge_udp_receive_buffer_bytes",
		"UDP receive buffer (SO_RCVBUF) per socket kind as asked for and as the kernel granted: granted below requested means net.core.rmem_max caps it.", []string{"socket", "size"}, nil)
	descGoroutinesIdle = prometheus.NewDesc("paybridge_goroutines_idle",
		"Goroutines when the node started serving, with no call: (go_goroutines - this) / paybridge_active_calls is the goroutines per call.", nil, nil)
)

// capacityCollector reads the admission figure once per scrape.
type capacityCollector struct {
	f       func() Capacity
	reasons CapacityReasons
}

func (c *capacityCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCallLimit, descCallLimitCeiling, descCallLimitFloor, descDegraded, descHeld,
		descCPUShare, descLateShare, descSkipped, descBehind, descRTPIO, descRcvBuf, descGoroutinesIdle} {
		ch <- d
	}
}

func (c *capacityCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.f()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	gauge(descCallLimit, float64(st.Limit))
	gauge(descCallLimitCeiling, float64(st.Ceiling))
	gauge(descCallLimitFloor, float64(st.Floor))
	flags := func(d *prometheus.Desc, reasons []string, now string) {
		for _, r := range reasons {
			v := 0.0
			if r == now {
				v = 1
			}
			gauge(d, v, r)
		}
		if now != "" && !slices.Contains(reasons, now) {
			gauge(d, 1, label(now))
		}
	}
	flags(descDegraded, c.reasons.Degraded, st.Degraded)
	flags(descHeld, c.reasons.Held, st.Held)
	gauge(descCPUShare, st.CPUShare)
	gauge(descLateShare, st.LateShare)
	gauge(descSkipped, float64(st.SkippedFrames))
	gauge(descBehind, float64(st.Behind))
	if st.RTPIO != "" {
		gauge(descRTPIO, 1, label(st.RTPIO))
	}
	for _, b := range []struct {
		socket, size string
		v            int
	}{{"rtp", "requested", st.RTPBufferRequested}, {"rtp", "granted", st.RTPBufferGranted},
		{"sip", "requested", st.SIPBufferRequested}, {"sip", "granted", st.SIPBufferGranted}} {
		if b.v > 0 {
			gauge(descRcvBuf, float64(b.v), b.socket, b.size)
		}
	}
	gauge(descGoroutinesIdle, float64(st.GoroutinesIdle))
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

// CallRecordWrite names one write of a call's record (serve runs them in order off the call's
// path, docs/operations.md): the label write of paybridge_call_record_write_errors_total and,
// for the writes a call waits for, of paybridge_call_record_writes_late_total.
type CallRecordWrite string

// The writes of a call's record.
const (
	CallRecordStart       CallRecordWrite = "start"        // its row, at the answer (waited for)
	CallRecordRTPForeign  CallRecordWrite = "rtp-foreign"  // after the hang-up: foreign datagrams dropped
	CallRecordSocketDrops CallRecordWrite = "socket-drops" // the kernel's drops on its media socket
	CallRecordSRTPAuth    CallRecordWrite = "srtp-auth"    // SRTP packets that failed authentication
	CallRecordEnd         CallRecordWrite = "end"          // its end (waited for)
)

// The closed label sets of the call record metrics: CallRecordWrites of
// paybridge_call_record_write_errors_total, CallRecordWaits (the writes a call waits for) of
// paybridge_call_record_writes_late_total. Every value exists from the start, at 0.
var (
	CallRecordWrites = []CallRecordWrite{CallRecordStart, CallRecordRTPForeign, CallRecordSocketDrops, CallRecordSRTPAuth, CallRecordEnd}
	CallRecordWaits  = []CallRecordWrite{CallRecordStart, CallRecordEnd}
)

// CallRecordWriteLate counts a call that went on without its record write (one of
// CallRecordWaits) because the store had not answered in time; the write stays queued.
func (m *Metrics) CallRecordWriteLate(write CallRecordWrite) {
	if m != nil {
		m.recordLate.WithLabelValues(label(string(write))).Inc()
	}
}

// CallRecordWriteFailed counts a call record write (one of CallRecordWrites) the store
// answered with an error.
func (m *Metrics) CallRecordWriteFailed(write CallRecordWrite) {
	if m != nil {
		m.recordErrors.WithLabelValues(label(string(write))).Inc()
	}
}
