package app

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/media"
)

// TestServeShowsAdmissionAndMediaPath: serve says once at start which path reads and writes
// the calls' media sockets (the log, the banner), and an operator finds the admission figure —
// the limit and why it stands there, the media path, the receive buffers as asked and granted,
// the goroutines idle — on /metrics and /api/capacity.
func TestServeShowsAdmissionAndMediaPath(t *testing.T) {
	a, logs, stop := startNode(t)
	defer stop()
	path := media.RTPIO()
	if n := strings.Count(logs.String(), `msg="RTP I/O path"`); n != 1 {
		t.Errorf("the RTP I/O path is logged %d times at start, want once:\n%s", n, logs)
	}
	if !strings.Contains(logs.String(), "rtp_io="+path) {
		t.Errorf("the start-up log does not name the RTP I/O path %s:\n%s", path, logs)
	}
	base := "http://" + a.HTTPAddr()
	const token = "test-admin-token-0123456789abcdef"
	_, metrics := getWithToken(t, base+"/metrics", token)
	for _, re := range []string{
		`(?m)^paybridge_rtp_io\{path="` + path + `"\} 1$`,
		`(?m)^paybridge_call_limit [1-9][0-9]*$`,
		`(?m)^paybridge_call_limit_floor [1-9][0-9]*$`,
		`(?m)^paybridge_admission_held\{reason="cpu"\} [01]$`,
		`(?m)^paybridge_admission_held\{reason="late"\} [01]$`,
		`(?m)^paybridge_admission_degraded\{reason="send-late"\} [01]$`,
		`(?m)^paybridge_admission_degraded\{reason="socket-drops"\} [01]$`,
		`(?m)^paybridge_admission_cpu_share [0-9.e+-]+$`,
		`(?m)^paybridge_udp_receive_buffer_bytes\{size="requested",socket="rtp"\} [1-9]`,
		`(?m)^paybridge_udp_receive_buffer_bytes\{size="granted",socket="rtp"\} [1-9]`,
		`(?m)^paybridge_udp_receive_buffer_bytes\{size="granted",socket="sip"\} [1-9]`,
		`(?m)^paybridge_goroutines_idle [1-9][0-9]*$`,
		`(?m)^paybridge_call_record_writes_late_total\{write="start"\} 0$`,
	} {
		if !regexp.MustCompile(re).MatchString(metrics) {
			t.Errorf("/metrics does not match %s", re)
		}
	}
	code, body := getWithToken(t, base+"/api/capacity", token)
	var c console.Capacity
	if code != 200 || json.Unmarshal([]byte(body), &c) != nil {
		t.Fatalf("/api/capacity = %d %s", code, body)
	}
	b := a.sip.ReceiveBuffers()
	if c.RTPIO != path || c.Limit < c.Floor || c.Ceiling == 0 || c.GoroutinesIdle == 0 || c.Goroutines == 0 ||
		c.RTPBufferRequested != b.RTPRequested || c.RTPBufferGranted != b.RTPGranted || c.SIPBufferGranted != b.SIPGranted {
		t.Errorf("/api/capacity = %+v (receive buffers %+v)", c, b)
	}
}
