package store

import (
	"fmt"
	"strings"
)

// Search: the filters of the List functions beyond exact columns — a number or a reference
// anywhere in it, the last four digits of a card, a call's plan or node for the payments, links
// and texts it made. Every condition is portable SQL (LIKE with an explicit escape character,
// LOWER for case, subqueries instead of dialect joins), so SQLite and PostgreSQL run the same
// text.

// likeEscape is the escape character of every LIKE pattern built here.
const likeEscape = `\`

// containsPattern is the LIKE pattern matching s anywhere, case-insensitively (the column is
// lowered too); %, _ and \ in s match themselves.
func containsPattern(s string) string {
	return "%" + escapeLike(strings.ToLower(s)) + "%"
}

// escapeLike makes %, _ and the escape character in s match themselves in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// addContains adds "col contains s" (case-insensitive).
func (q *query) addContains(col, s string) {
	q.add("LOWER("+col+") LIKE ? ESCAPE '"+likeEscape+"'", containsPattern(s))
}

// addAnyContains adds "one of cols contains s".
func (q *query) addAnyContains(cols []string, s string) {
	parts := make([]string, len(cols))
	args := make([]any, len(cols))
	for i, c := range cols {
		parts[i] = "LOWER(" + c + ") LIKE ? ESCAPE '" + likeEscape + "'"
		args[i] = containsPattern(s)
	}
	q.add("("+strings.Join(parts, " OR ")+")", args...)
}

// numberDigits is what a number search matches: its digits (and a leading +), so that
// "07700 900123" and "+44 7700 900123" find "+447700900123" by its distinctive digits.
func numberDigits(s string) string {
	var b strings.Builder
	for i, c := range strings.TrimSpace(s) {
		if c >= '0' && c <= '9' || c == '+' && i == 0 {
			b.WriteRune(c)
		}
	}
	d := b.String()
	// A national number ("07700 900123") is matched without its trunk 0.
	if strings.HasPrefix(d, "0") && len(d) > 6 {
		d = d[1:]
	}
	if d == "" {
		return strings.TrimSpace(s) // a SIP user that is not a number
	}
	return d
}

// checkLast4 requires exactly four digits: the mask shows no more, and a longer string typed
// here is more likely a card number pasted by mistake.
func checkLast4(s string) error {
	if len(s) != 4 || strings.Trim(s, "0123456789") != "" {
		return fmt.Errorf("%w: last four: want exactly 4 digits", ErrInvalid)
	}
	return nil
}

// addLast4 matches the canonical mask ending in last4.
func (q *query) addLast4(col, last4 string) {
	q.add(col+" LIKE ?", "%"+last4)
}

// paymentFacts adds the conditions on a payment record's own facts.
func (q *query) paymentFacts(reference, result, errorType, cardType, last4 string) error {
	if reference != "" {
		q.addContains("reference", reference)
	}
	if result != "" {
		q.add("result = ?", result)
	}
	if errorType != "" {
		q.add("error_type = ?", errorType)
	}
	if cardType != "" {
		q.add("card_type = ?", cardType)
	}
	if last4 != "" {
		if err := checkLast4(last4); err != nil {
			return err
		}
		q.addLast4("masked_card", last4)
	}
	return nil
}

// callFacts adds "the record's call has this plan / node / number" for tables with a call_id.
func (q *query) callFacts(plan, node, number string) {
	var cq query
	if plan != "" {
		cq.add("plan = ?", plan)
	}
	if node != "" {
		cq.add("node = ?", node)
	}
	if number != "" {
		cq.addAnyContains([]string{"caller", "callee"}, numberDigits(number))
	}
	if len(cq.where) > 0 {
		q.add("call_id IN (SELECT id FROM calls"+cq.sql()+")", cq.args...)
	}
}
