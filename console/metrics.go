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
	digits          *prometheus.CounterVec
	rtpReceived     prometheus.Counter
	rtpLost         prometheus.Counter
	rtpForeign      prometheus.Counter
	providerLatency *prometheus.HistogramVec
	sipResponses    *prometheus.CounterVec
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
		digits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "dtmf_digits_total", Help: "DTMF keypresses by source (inband, rfc4733, info).",
		}, []string{"source"}),
		rtpReceived: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "rtp_packets_received_total", Help: "RTP packets received.",
		}),
		rtpLost: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "paybridge", Name: "rtp_packets_lost_total", Help: "RTP packets lost (sequence gaps).",
		}),
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
	}
	if reg != nil {
		reg.MustRegister(m.activeCalls, m.calls, m.payments, m.digits, m.rtpReceived, m.rtpLost, m.rtpForeign, m.providerLatency, m.sipResponses)
	}
	return m
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

// RTPForeign counts datagrams dropped because they came from a foreign source.
func (m *Metrics) RTPForeign(n int) {
	if m != nil && n > 0 {
		m.rtpForeign.Add(float64(n))
	}
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
