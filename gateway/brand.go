package gateway

import (
	"encoding/base64"
	"html/template"
	"io"
	"os"
	"sync"
	"time"

	"github.com/paybridge/paybridge/payment"
)

// brand is what a payment page and a link's text show of the merchant: the link's
// connector's <Merchant>, else LinksConfig.Merchant.
type brand struct {
	Name    string
	Support string
	Locale  string
	Logo    template.URL // a data: URL of the logo, "" for none
}

// merchantOf is the merchant of the connector a link was made with.
func (l *Links) merchantOf(key, name string) payment.Merchant {
	if c, err := l.cfg.Connectors.Resolve(key, name); err == nil {
		if m := c.Merchant(); m != nil && m.Name != "" {
			return *m
		}
	}
	return l.cfg.Merchant
}

// brandOf is the brand of a link's pages; link nil is the default (a token that names no
// link says nothing about any merchant but the operator's own).
func (l *Links) brandOf(link *Link) brand {
	m := l.cfg.Merchant
	if link != nil {
		m = l.merchantOf(link.ConnectorKey, link.Connector)
	}
	return brand{Name: m.Name, Support: m.Support, Locale: m.Locale, Logo: l.logos.dataURL(m.Logo)}
}

// price writes an amount for the brand's locale (£12.34, 12,34 €).
func (b brand) price(minor int64, currency string) string {
	return payment.FormatMoney(payment.Amount{Minor: minor, Currency: currency}, b.Locale)
}

// logoCache keeps each logo file as a data: URL (the page's CSP allows images from data:
// only), read again when the file changes. A logo that cannot be used — validate and serve's
// load have said so — is left off the page, with one warning per change of the file.
type logoCache struct {
	mu      sync.Mutex
	entries map[string]logoEntry
	warn    func(path string, err error)
}

type logoEntry struct {
	mod  time.Time
	size int64
	url  template.URL
}

func (lc *logoCache) dataURL(path string) template.URL {
	if path == "" {
		return ""
	}
	st, err := os.Stat(path)
	if err != nil {
		lc.remember(path, logoEntry{}, err)
		return ""
	}
	lc.mu.Lock()
	e, ok := lc.entries[path]
	lc.mu.Unlock()
	if ok && e.mod.Equal(st.ModTime()) && e.size == st.Size() {
		return e.url
	}
	e = logoEntry{mod: st.ModTime(), size: st.Size()}
	b, err := readLogo(path)
	if err == nil {
		var typ string
		if typ, err = payment.LogoType(b); err == nil {
			e.url = template.URL("data:" + typ + ";base64," + base64.StdEncoding.EncodeToString(b))
		}
	}
	lc.remember(path, e, err)
	return e.url
}

func (lc *logoCache) remember(path string, e logoEntry, err error) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if lc.entries == nil {
		lc.entries = map[string]logoEntry{}
	}
	old, seen := lc.entries[path]
	lc.entries[path] = e
	if err != nil && lc.warn != nil && (!seen || old != e) {
		lc.warn(path, err)
	}
}

func readLogo(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, payment.MaxLogoBytes+1))
}
