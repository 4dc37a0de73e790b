package payment

import "testing"

func TestConnectorURL(t *testing.T) {
	for s, ok := range map[string]bool{"sandbox": true, "https://pay.example.com": true, "http://127.0.0.1:9000": true, "http://localhost:1": true,
		"http://[::1]:8080/x": true, "http://pay.example.com": false, "https://u:p@pay.example.com": false, "ftp://x": false, "pay.example.com": false} {
		if err := checkConnectorURL(s); (err == nil) != ok {
			t.Errorf("checkConnectorURL(%q) = %v", s, err)
		}
	}
}
