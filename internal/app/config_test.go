package app

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.SIPAddr != "0.0.0.0:5060" || c.HTTPAddr != "127.0.0.1:8080" || c.RTPPortMin != 10000 ||
		c.RTPPortMax != 20000 || c.DataDir != "./data" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestParseConfigEnvThenFlags(t *testing.T) {
	e := env(map[string]string{
		"PAYBRIDGE_SIP_ADDR":      "127.0.0.1:5070",
		"PAYBRIDGE_HTTP_ADDR":     "127.0.0.1:9000",
		"PAYBRIDGE_RTP_PORTS":     "30000-30100",
		"PAYBRIDGE_MEDIA_TIMEOUT": "12s",
	})
	c, err := ParseConfig([]string{"--http-addr", "127.0.0.1:9001", "--public-ip", "192.0.2.7"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.SIPAddr != "127.0.0.1:5070" {
		t.Errorf("env not applied: %q", c.SIPAddr)
	}
	if c.HTTPAddr != "127.0.0.1:9001" {
		t.Errorf("flag did not win over env: %q", c.HTTPAddr)
	}
	if c.RTPPortMin != 30000 || c.RTPPortMax != 30100 || c.MediaTimeout != 12*time.Second || c.PublicIP != "192.0.2.7" {
		t.Errorf("parsed: %+v", c)
	}
}

func TestParseConfigErrors(t *testing.T) {
	cases := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--rtp-ports", "20000"}, nil, "LOW-HIGH"},
		{[]string{"--rtp-ports", "70000-70010"}, nil, "65535"},
		{[]string{"--sip-addr", "nope"}, nil, "--sip-addr"},
		{[]string{"--public-ip", "host.example"}, nil, "not an IP"},
		{[]string{"--log-format", "xml"}, nil, "text or json"},
		{nil, map[string]string{"PAYBRIDGE_MEDIA_TIMEOUT": "soon"}, "PAYBRIDGE_MEDIA_TIMEOUT"},
		{[]string{"extra"}, nil, "no arguments"},
		{[]string{"--max-calls", "0"}, nil, "--max-calls"},
		{[]string{"--max-calls", "lots"}, nil, "want auto or a number"},
		{[]string{"--admission", "fixed"}, nil, "needs --max-calls N"},
		{[]string{"--admission", "sometimes", "--max-calls", "5"}, nil, "want auto or fixed"},
	}
	for _, tc := range cases {
		_, err := ParseConfig(tc.args, env(tc.env), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseConfig(%q, %v) = %v, want error containing %q", tc.args, tc.env, err, tc.want)
		}
	}
}

func TestParseConfigSIPTraceFromEnv(t *testing.T) {
	c, err := ParseConfig(nil, env(map[string]string{"PAYBRIDGE_SIP_TRACE": "true"}), io.Discard)
	if err != nil || !c.SIPTrace {
		t.Fatalf("SIPTrace = %v, %v", c.SIPTrace, err)
	}
}

func TestParseConfigRTPStrict(t *testing.T) {
	c, err := ParseConfig(nil, env(nil), io.Discard)
	if err != nil || c.RTPStrict {
		t.Fatalf("default RTPStrict = %v, %v; want off", c.RTPStrict, err)
	}
	c, err = ParseConfig(nil, env(map[string]string{"PAYBRIDGE_RTP_STRICT": "true"}), io.Discard)
	if err != nil || !c.RTPStrict {
		t.Fatalf("PAYBRIDGE_RTP_STRICT=true: RTPStrict = %v, %v", c.RTPStrict, err)
	}
	c, err = ParseConfig([]string{"--rtp-strict=false"}, env(map[string]string{"PAYBRIDGE_RTP_STRICT": "true"}), io.Discard)
	if err != nil || c.RTPStrict {
		t.Fatalf("the flag must win over the environment: RTPStrict = %v, %v", c.RTPStrict, err)
	}
	if _, err := ParseConfig(nil, env(map[string]string{"PAYBRIDGE_RTP_STRICT": "sometimes"}), io.Discard); err == nil {
		t.Fatal("PAYBRIDGE_RTP_STRICT=sometimes accepted")
	}
}

// The --merchant-* flags (and PAYBRIDGE_MERCHANT_*) set the default merchant; what a
// customer's page could not show is refused at start, not found on the page.
func TestParseConfigMerchant(t *testing.T) {
	logo := t.TempDir() + "/logo.svg"
	if err := os.WriteFile(logo, []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>`), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := ParseConfig([]string{"--merchant-name", "Acme Water", "--merchant-logo", logo, "--merchant-locale", "en-GB"},
		env(map[string]string{"PAYBRIDGE_MERCHANT_SUPPORT": "0800 123 4567"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Merchant.Name != "Acme Water" || c.Merchant.Logo != logo || c.Merchant.Support != "0800 123 4567" || c.Merchant.Locale != "en-GB" {
		t.Fatalf("merchant %+v", c.Merchant)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--merchant-locale", "english"}, `--merchant-locale: locale "english": amounts can be written for`},
		{[]string{"--merchant-logo", logo + ".missing"}, "--merchant-logo " + logo + ".missing"},
		{[]string{"--merchant-logo", "config_test.go"}, "logo is not a PNG, JPEG, GIF, WebP or SVG image"},
		{[]string{"--merchant-name", "Acme\nWater"}, "--merchant-name: merchant name must be one line"},
	} {
		_, err := ParseConfig(tc.args, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestParseConfigMaxCalls(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int
	}{
		{nil, nil, 0}, // auto
		{[]string{"--max-calls", "auto"}, nil, 0},
		{[]string{"--max-calls", "250"}, nil, 250},
		{nil, map[string]string{"PAYBRIDGE_MAX_CALLS": "40"}, 40},
	} {
		c, err := ParseConfig(tc.args, env(tc.env), io.Discard)
		if err != nil {
			t.Fatalf("%q %v: %v", tc.args, tc.env, err)
		}
		if n, err := c.maxCalls(); err != nil || n != tc.want {
			t.Errorf("%q %v: maxCalls = %d, %v; want %d", tc.args, tc.env, n, err, tc.want)
		}
	}
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--admission", "auto", "--max-calls", "10"}, false},
		{[]string{"--admission", "fixed", "--max-calls", "10"}, true},
	} {
		c, err := ParseConfig(tc.args, env(nil), io.Discard)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if fixed, err := c.fixedAdmission(); err != nil || fixed != tc.want {
			t.Errorf("%q: fixedAdmission = %v, %v; want %v", tc.args, fixed, err, tc.want)
		}
	}
}
