package console

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/paybridge/paybridge/store"
)

func TestParseCallFilter(t *testing.T) {
	q, _ := url.ParseQuery("state=active&plan=pay&from=%2B44&to=%2B45&since=2026-11-22T10:00:00%2B01:00&until=1700000000&limit=10")
	f, err := parseCallFilter(q)
	if err != nil {
		t.Fatal(err)
	}
	want := store.CallFilter{State: "active", Plan: "pay", From: "+44", To: "+45",
		Since: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), Until: time.Unix(1700000000, 0).UTC(), Limit: 10}
	if f != want {
		t.Errorf("got %+v\nwant %+v", f, want)
	}
	f, err = parseCallFilter(url.Values{})
	if err != nil || f.Limit != store.DefaultLimit {
		t.Errorf("empty query: %+v %v", f, err)
	}
}

func FuzzParseFilters(f *testing.F) {
	for _, s := range []string{"", "state=active&limit=5", "since=2026-11-22T10:00:00Z&until=1700000000", "cursor=MTIzLmE",
		"limit=-1", "x=1", "plan=a&plan=b", "since=99999999999999", "status=sent", "cursor=%ff%fe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		check := func(err error, limit int) {
			if err != nil {
				if !errors.Is(err, ErrBadFilter) {
					t.Fatalf("%q: error %v is not ErrBadFilter", raw, err)
				}
				return
			}
			if limit < 1 || limit > store.MaxLimit {
				t.Fatalf("%q: accepted limit %d", raw, limit)
			}
		}
		cf, err := parseCallFilter(q)
		check(err, cf.Limit)
		pf, err := parsePaymentFilter(q)
		check(err, pf.Limit)
		lf, err := parseLinkFilter(q, time.Now())
		check(err, lf.Limit)
		sf, err := parseSMSFilter(q)
		check(err, sf.Limit)
	})
}
