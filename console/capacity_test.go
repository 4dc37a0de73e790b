package console

import (
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestCapacityMetrics: the admission figure is on /metrics with why the limit stands where it
// is — the degraded and held reasons as closed label sets (1 for the last look's reason, 0 for
// the others), the figures behind them, the media path and the receive buffers as asked and
// granted — and /api/stats carries the same figure for the overview.
func TestCapacityMetrics(t *testing.T) {
	capNow := Capacity{Calls: 140, Limit: 150, Ceiling: 5000, Floor: 100, Auto: true, Refused: 7, Held: "cpu",
		CPUShare: 0.93, LateShare: 0.004, SkippedFrames: 0, Behind: 1, SocketDrops: 12, RTPIO: "epoll",
		RTPBufferRequested: 262144, RTPBufferGranted: 212992, SIPBufferRequested: 4194304, SIPBufferGranted: 212992,
		Goroutines: 400, GoroutinesIdle: 120}
	var reg *prometheus.Registry
	f := newFixture(t, func(c *Config) {
		c.Capacity = func() Capacity { return capNow }
		reg = c.Gatherer.(*prometheus.Registry)
		c.Metrics.RegisterCapacity(reg, c.Capacity, CapacityReasons{Degraded: []string{"socket-drops", "send-late"}, Held: []string{"cpu", "late"}})
	})
	_, _, body := f.do(t, "GET", "/metrics", testToken)
	for _, re := range []string{
		`(?m)^paybridge_call_limit 150$`, `(?m)^paybridge_call_limit_ceiling 5000$`, `(?m)^paybridge_call_limit_floor 100$`,
		`(?m)^paybridge_admission_held\{reason="cpu"\} 1$`, `(?m)^paybridge_admission_held\{reason="late"\} 0$`,
		`(?m)^paybridge_admission_degraded\{reason="socket-drops"\} 0$`, `(?m)^paybridge_admission_degraded\{reason="send-late"\} 0$`,
		`(?m)^paybridge_admission_cpu_share 0\.93$`, `(?m)^paybridge_admission_late_share 0\.004$`,
		`(?m)^paybridge_admission_skipped_frames 0$`, `(?m)^paybridge_admission_sockets_behind 1$`,
		`(?m)^paybridge_rtp_io\{path="epoll"\} 1$`,
		`(?m)^paybridge_udp_receive_buffer_bytes\{size="granted",socket="rtp"\} 212992$`,
		`(?m)^paybridge_udp_receive_buffer_bytes\{size="requested",socket="rtp"\} 262144$`,
		`(?m)^paybridge_udp_receive_buffer_bytes\{size="requested",socket="sip"\} 4\.194304e\+06$`,
		`(?m)^paybridge_goroutines_idle 120$`,
		`(?m)^paybridge_call_record_writes_late_total\{write="end"\} 0$`,
		`(?m)^paybridge_call_record_write_errors_total\{write="rtp-foreign"\} 0$`,
		`(?m)^paybridge_admission_ticks_total\{outcome="degraded",reason="send-late"\} 0$`,
		`(?m)^paybridge_admission_ticks_total\{outcome="held",reason="late"\} 0$`,
	} {
		if !regexp.MustCompile(re).Match(body) {
			t.Errorf("/metrics does not match %s", re)
		}
	}

	// Every look that lowered or held the limit is counted, however short the episode.
	f.metrics.AdmissionTick("send-late", "")
	f.metrics.AdmissionTick("send-late", "")
	f.metrics.AdmissionTick("", "cpu")
	_, _, body = f.do(t, "GET", "/metrics", testToken)
	for _, re := range []string{`(?m)^paybridge_admission_ticks_total\{outcome="degraded",reason="send-late"\} 2$`,
		`(?m)^paybridge_admission_ticks_total\{outcome="held",reason="cpu"\} 1$`,
		`(?m)^paybridge_admission_ticks_total\{outcome="held",reason="late"\} 0$`} {
		if !regexp.MustCompile(re).Match(body) {
			t.Errorf("/metrics (ticks) does not match %s", re)
		}
	}

	// A degraded look: its reason is 1, the held reasons 0; a reason outside the set still
	// shows (as itself, a closed-set label).
	capNow.Held, capNow.Degraded = "", "send-late"
	_, _, body = f.do(t, "GET", "/metrics", testToken)
	for _, re := range []string{`(?m)^paybridge_admission_degraded\{reason="send-late"\} 1$`, `(?m)^paybridge_admission_held\{reason="cpu"\} 0$`} {
		if !regexp.MustCompile(re).Match(body) {
			t.Errorf("/metrics (degraded) does not match %s", re)
		}
	}
	capNow.Degraded = "receive-backlog"
	_, _, body = f.do(t, "GET", "/metrics", testToken)
	if !regexp.MustCompile(`(?m)^paybridge_admission_degraded\{reason="receive-backlog"\} 1$`).Match(body) {
		t.Errorf("a reason outside the set is not shown:\n%s", body)
	}

	var st struct {
		Capacity Capacity `json:"capacity"`
	}
	f.getJSON(t, "/api/stats", &st)
	if st.Capacity != capNow {
		t.Fatalf("/api/stats capacity = %+v, want %+v", st.Capacity, capNow)
	}
	var only Capacity
	f.getJSON(t, "/api/capacity", &only)
	if only != capNow {
		t.Fatalf("/api/capacity = %+v, want %+v", only, capNow)
	}
	if code, _, _ := newFixture(t).do(t, "GET", "/api/capacity", testToken); code != 404 {
		t.Errorf("/api/capacity without a SIP endpoint = %d, want 404", code)
	}
	if code, _, _ := f.do(t, "GET", "/api/capacity", ""); code != 401 {
		t.Errorf("/api/capacity without the token = %d, want 401", code)
	}
}
