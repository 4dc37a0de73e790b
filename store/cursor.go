package store

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A cursor is the position after the last row of a page: the row's sort time and id. Lists are
// ordered newest first by (time, id), so the next page is every row strictly before the
// cursor. It is opaque to clients (base64url of "micros.id") and stable under inserts.

// encodeCursor builds the cursor that follows a row.
func encodeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + "." + id))
}

// decodeCursor parses a cursor; "" is the first page.
func decodeCursor(c string) (t int64, id string, ok bool, err error) {
	if c == "" {
		return 0, "", false, nil
	}
	if len(c) > 512 {
		return 0, "", false, fmt.Errorf("%w: too long", ErrBadCursor)
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", false, fmt.Errorf("%w: not base64url", ErrBadCursor)
	}
	ts, id, found := strings.Cut(string(raw), ".")
	if !found || id == "" {
		return 0, "", false, fmt.Errorf("%w: missing id", ErrBadCursor)
	}
	t, err = strconv.ParseInt(ts, 10, 64)
	if err != nil || t < 0 {
		return 0, "", false, fmt.Errorf("%w: bad time", ErrBadCursor)
	}
	return t, id, true, nil
}

// ValidCursor reports whether c is "" or a cursor this store produced; the console uses it to
// answer 400 before querying.
func ValidCursor(c string) error {
	_, _, _, err := decodeCursor(c)
	return err
}

// query is a small builder for the List functions: a WHERE clause of ANDed conditions with
// positional arguments, portable between SQLite and PostgreSQL ($n placeholders are a
// one-line change in a PostgreSQL store).
type query struct {
	where []string
	args  []any
}

func (q *query) add(cond string, args ...any) {
	q.where = append(q.where, cond)
	q.args = append(q.args, args...)
}

// page adds the cursor condition for rows ordered by (timeCol DESC, idCol DESC).
func (q *query) page(timeCol, idCol, cursor string) error {
	t, id, ok, err := decodeCursor(cursor)
	if err != nil || !ok {
		return err
	}
	q.add("("+timeCol+" < ? OR ("+timeCol+" = ? AND "+idCol+" < ?))", t, t, id)
	return nil
}

func (q *query) sql() string {
	if len(q.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(q.where, " AND ")
}
