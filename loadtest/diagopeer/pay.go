package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// payer charges a card through the sandbox provider's Generic Pay Connector endpoint.
type payer struct {
	url    string
	client *http.Client
}

func newPayer(base string) *payer {
	if base == "" {
		return nil
	}
	return &payer{url: base + "/generic", client: &http.Client{Timeout: 15 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

// charge sends digits = PAN(16) + MMYY + CVV(3); the body is zeroed after sending.
func (p *payer) charge(callID string, digits []byte) error {
	if len(digits) != 23 {
		return fmt.Errorf("want 23 digits, have %d", len(digits))
	}
	body, err := json.Marshal(map[string]any{
		"transaction_id": "diagopeer-" + callID, "method": "charge",
		"cardnumber": string(digits[:16]), "expiry_month": string(digits[16:18]), "expiry_year": string(digits[18:20]),
		"cvv": string(digits[20:23]), "amount": "9.99", "currency_code": "GBP",
	})
	if err != nil {
		return err
	}
	req, err := http.NewRequest(http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.SetBasicAuth("diagopeer", "diagopeer")
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	clear(body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		ChargeID  *string `json:"charge_id"`
		ErrorCode *string `json:"error_code"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err := json.Unmarshal(b, &out); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("provider answered %d", resp.StatusCode)
	}
	if out.ChargeID == nil {
		code := "declined"
		if out.ErrorCode != nil {
			code = *out.ErrorCode
		}
		return fmt.Errorf("declined: %s", code)
	}
	return nil
}
