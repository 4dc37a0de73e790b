package pan

import "time"

// MaxExpiryYears is how far ahead an expiry may lie; cards are issued for at most a few
// years, so a date further out is a typing error.
const MaxExpiryYears = 20

// CheckExpiry validates MMYY digits against now: a real month, not before now's month (a
// card is valid to the end of its expiry month; the comparison is in UTC) and at most
// MaxExpiryYears ahead. It returns the month, the four-digit year and nil, or
// ErrInvalidExpiry.
func CheckExpiry(digits []byte, now time.Time) (month, year int, err error) {
	if len(digits) != 4 || !allDigits(digits) {
		return 0, 0, ErrInvalidExpiry
	}
	month = int(digits[0]-'0')*10 + int(digits[1]-'0')
	yy := int(digits[2]-'0')*10 + int(digits[3]-'0')
	if month < 1 || month > 12 {
		return 0, 0, ErrInvalidExpiry
	}
	now = now.UTC()
	year = now.Year()/100*100 + yy
	if year < now.Year()-50 { // a two-digit year just past a century boundary
		year += 100
	}
	cur := now.Year()*12 + int(now.Month()) - 1
	exp := year*12 + month - 1
	if exp < cur || exp > cur+MaxExpiryYears*12 {
		return 0, 0, ErrInvalidExpiry
	}
	return month, year, nil
}
