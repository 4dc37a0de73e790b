package callplan

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/paybridge/paybridge/payment"
)

// parseMerchant reads <Merchant name logo support locale/>: who the payment page and the
// link's text name. The logo is read here, once, so that a missing or unusable file is a
// file:line:col error of validate and serve's load rather than a broken page.
func (p *parser) parseMerchant(n *xnode) *payment.Merchant {
	a := p.attrs(n, "name", "logo", "support", "locale")
	p.noText(n)
	m := &payment.Merchant{}
	before := len(p.sink.ds)
	m.Name = strings.TrimSpace(a.requiredNonEmpty("name"))
	nameReported := len(p.sink.ds) > before
	m.Support, _ = a.str("support")
	m.Support = strings.TrimSpace(m.Support)
	m.Locale, _ = a.str("locale")
	m.Locale = strings.TrimSpace(m.Locale)
	for _, pr := range payment.CheckMerchant(*m) {
		if pr.Attr == "name" && nameReported {
			continue
		}
		pos := n.pos
		if x := a.get(pr.Attr); x != nil {
			pos = a.valPos(x)
		}
		p.sink.errorf(pos, "bad-merchant", "%s", pr.Message)
	}
	if x := a.get("logo"); x != nil {
		logo, _ := a.str("logo")
		if logo = strings.TrimSpace(logo); logo != "" {
			written := logo
			if !filepath.IsAbs(logo) {
				logo = filepath.Join(p.dir, logo)
			}
			if abs, err := filepath.Abs(logo); err == nil {
				logo = abs
			}
			if err := checkLogo(logo); err != nil {
				p.sink.errorf(a.valPos(x), "merchant-logo", "logo %s: %v", written, err)
			}
			m.Logo = logo
		}
	}
	return m
}

// checkLogo reads at most one byte more than a logo may have and checks what it is.
func checkLogo(path string) error {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("no such file")
		}
		return fmt.Errorf("cannot be read")
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, payment.MaxLogoBytes+1))
	if err != nil {
		return fmt.Errorf("cannot be read")
	}
	_, err = payment.LogoType(b)
	return err
}
