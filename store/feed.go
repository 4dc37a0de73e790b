package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/paybridge/paybridge/pan"
)

// The live feed between nodes. Every node publishes its live events (masked JSON) with
// Announce, and every node's Follow receives what all of them published — PostgreSQL's
// LISTEN/NOTIFY, which delivers a notification to every listening session when the
// publishing transaction commits, in commit order. It is a live feed, not a record: a node
// that is not listening at that moment misses it (the records are in the tables). On SQLite
// there is one node and nothing to carry: Announce does nothing and Follow waits for its
// context.

// FeedChannel is the PostgreSQL notification channel of the live feed.
const FeedChannel = "paybridge_live"

// MaxFeedMessage is the largest message Announce carries (PostgreSQL's NOTIFY payload limit is
// 8000 bytes).
const MaxFeedMessage = 7900

// Announce publishes msg to every node's Follow. Any card number that slipped into it is
// masked first, like everything else the store writes.
func (s *Store) Announce(ctx context.Context, msg []byte) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.d != postgresDialect {
		return nil
	}
	msg = pan.RedactJSON(msg)
	if len(msg) > MaxFeedMessage {
		return fmt.Errorf("%w: feed message of %d bytes (at most %d)", ErrInvalid, len(msg), MaxFeedMessage)
	}
	_, err := s.w.ExecContext(ctx, `SELECT pg_notify($1, $2)`, FeedChannel, string(msg))
	if err != nil {
		return fmt.Errorf("store: announce: %w", err)
	}
	return nil
}

// Follow calls fn with every message any node announces (this one's included) until ctx ends,
// on a connection of its own. A lost connection is reopened after a short pause; messages
// announced meanwhile are missed. fn runs on Follow's goroutine and must not block for long.
// On SQLite it just waits for ctx.
func (s *Store) Follow(ctx context.Context, fn func(msg []byte)) error {
	if s.d != postgresDialect {
		<-ctx.Done()
		return ctx.Err()
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		if s.closed.Load() {
			return ErrClosed
		}
		err := s.followOnce(ctx, fn, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			break
		}
		_ = err // reconnect after a pause
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return ctx.Err()
}

func (s *Store) followOnce(ctx context.Context, fn func([]byte), listening func()) error {
	conn, err := s.pg.connect(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+FeedChannel); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return ctx.Err()
			}
			return err
		}
		fn([]byte(n.Payload))
	}
}
