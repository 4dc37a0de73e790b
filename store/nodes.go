package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Several paybridge nodes may share a PostgreSQL database. Each registers under a node id that
// must be unique among the live nodes: RegisterNode takes the id's lease — a session-level
// advisory lock held on a connection of its own for the node's life — and a second process
// with the same id is refused (ErrNodeLive) while the first holds it. The lock goes when the
// holder's connection goes: a node that is killed, or whose machine dies, loses it within
// moments (at once on a closed socket; by TCP keepalive on a vanished peer).
//
// A node that died leaves work behind: calls recorded in progress, attempts pending with the
// provider. Another node finds such node ids (OrphanedNodes) and settles them under TakeOver,
// which succeeds only when the dead node's lease is free and its heartbeat (Renew, every few
// seconds) is older than the caller's deadAfter — both, so that a node that merely lost its
// lock connection for a moment is not taken over. The taken-over lease is exclusive too: of
// several nodes only one settles a dead node, and the dead node restarting waits for it.
//
// On SQLite one process owns the file; the lease is a record only and TakeOver judges by the
// heartbeat alone.

// Node states.
const (
	NodeUp       = "up"
	NodeDraining = "draining" // SIGTERM: finishing its calls, refusing new ones
	NodeStopped  = "stopped"  // closed its lease cleanly
)

// Node is a paybridge node as the database knows it.
type Node struct {
	ID        string    `json:"id"`
	SIPAddr   string    `json:"sip_addr,omitempty"`
	HTTPAddr  string    `json:"http_addr,omitempty"`
	Version   string    `json:"version,omitempty"`
	State     string    `json:"state"` // up | draining | stopped
	StartedAt time.Time `json:"started_at"`
	SeenAt    time.Time `json:"seen_at"`
	StoppedAt time.Time `json:"stopped_at,omitzero"`
}

// Alive reports whether the node looks up at the given time: not stopped and seen within
// deadAfter.
func (n Node) Alive(at time.Time, deadAfter time.Duration) bool {
	return n.State != NodeStopped && at.Sub(n.SeenAt) < deadAfter
}

// NodeLease is a node's hold on its id (RegisterNode), or another node's hold on a dead node's
// id while it settles it (TakeOver).
type NodeLease struct {
	s        *Store
	id       string
	takeover bool

	mu   sync.Mutex
	conn *pgx.Conn // PostgreSQL: holds the advisory lock
}

// ID is the node id the lease holds.
func (l *NodeLease) ID() string { return l.id }

func nodeLockName(id string) string { return "node:" + id }

// lockNode opens a dedicated connection and takes the node id's advisory lock on it: nil, nil
// when another session holds it.
func (s *Store) lockNode(ctx context.Context, id string) (*pgx.Conn, error) {
	conn, err := s.pg.connect(ctx)
	if err != nil {
		return nil, err
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, lockPrefix+nodeLockName(id)).Scan(&ok); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	if !ok {
		conn.Close(context.Background())
		return nil, nil
	}
	return conn, nil
}

// RegisterNode records n as up and takes its id's lease. A live node already holding the id
// gives ErrNodeLive. Close the lease when the node stops.
func (s *Store) RegisterNode(ctx context.Context, n Node) (*NodeLease, error) {
	if n.ID == "" {
		return nil, fmt.Errorf("%w: node without id", ErrInvalid)
	}
	if s.closed.Load() {
		return nil, ErrClosed
	}
	l := &NodeLease{s: s, id: n.ID}
	if s.d == postgresDialect {
		conn, err := s.lockNode(ctx, n.ID)
		if err != nil {
			return nil, fmt.Errorf("store: node %s: %w", n.ID, err)
		}
		if conn == nil {
			return nil, fmt.Errorf("%w: %s", ErrNodeLive, n.ID)
		}
		l.conn = conn
	}
	t := now().UnixMicro()
	err := s.write(ctx, func(ctx context.Context, tx *txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO nodes (id, sip_addr, http_addr, version, state, started_at, seen_at, stopped_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
			ON CONFLICT (id) DO UPDATE SET sip_addr = excluded.sip_addr, http_addr = excluded.http_addr,
				version = excluded.version, state = excluded.state, started_at = excluded.started_at,
				seen_at = excluded.seen_at, stopped_at = NULL`,
			n.ID, n.SIPAddr, n.HTTPAddr, n.Version, NodeUp, t, t)
		return err
	})
	if err != nil {
		l.release()
		return nil, fmt.Errorf("store: register node %s: %w", n.ID, err)
	}
	return l, nil
}

// Renew proves the node alive: it records the heartbeat and state (up or draining) and, on
// PostgreSQL, makes sure the lease's connection and lock are still there, taking them again
// after a lost connection. If another node took the id over meanwhile (this node was cut off
// long enough to look dead), it returns ErrNodeLive and keeps trying on the next call.
func (l *NodeLease) Renew(ctx context.Context, state string) error {
	if l.takeover {
		return errors.New("store: a taken-over lease is not renewed")
	}
	if err := l.relock(ctx); err != nil {
		return err
	}
	return l.s.updateOne(ctx, "node "+l.id, `UPDATE nodes SET seen_at = ?, state = ?, stopped_at = NULL WHERE id = ?`,
		now().UnixMicro(), state, l.id)
}

func (l *NodeLease) relock(ctx context.Context) error {
	if l.s.d != postgresDialect {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil && !l.conn.IsClosed() {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := l.conn.Ping(pctx)
		cancel()
		if err == nil {
			return nil
		}
		l.conn.Close(context.Background())
		l.conn = nil
	}
	conn, err := l.s.lockNode(ctx, l.id)
	if err != nil {
		return fmt.Errorf("store: node %s: retaking the lease: %w", l.id, err)
	}
	if conn == nil {
		return fmt.Errorf("%w: %s (taken over while this node was cut off)", ErrNodeLive, l.id)
	}
	l.conn = conn
	return nil
}

// Close ends the lease: a registered node is recorded stopped and its id freed; a taken-over
// lease is freed only.
func (l *NodeLease) Close(ctx context.Context) error {
	var err error
	if !l.takeover {
		t := now().UnixMicro()
		err = l.s.updateOne(ctx, "node "+l.id, `UPDATE nodes SET state = ?, seen_at = ?, stopped_at = ? WHERE id = ?`,
			NodeStopped, t, t, l.id)
	}
	l.unlock(ctx)
	l.release()
	return err
}

// unlock frees the lease's advisory lock before its connection closes: a closed connection's
// lock goes only when PostgreSQL has ended the session, some time after Close returned (long
// on a loaded server), and until then a restart or a takeover of the id would be refused.
func (l *NodeLease) unlock(ctx context.Context) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn == nil || l.conn.IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	l.conn.Exec(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, lockPrefix+nodeLockName(l.id)) // on failure, closing the session frees it
}

func (l *NodeLease) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l.conn.Close(ctx) // ends the session: the advisory lock goes with it
		l.conn = nil
	}
}

// TakeOver takes the lease of node id to settle what it left behind, if the node is dead: its
// lease is free (PostgreSQL) and it was last seen deadAfter or longer ago (or has never been
// registered: rows written before node ids). Otherwise ErrNodeLive. Close the lease when done.
func (s *Store) TakeOver(ctx context.Context, id string, deadAfter time.Duration) (*NodeLease, error) {
	if s.closed.Load() {
		return nil, ErrClosed
	}
	l := &NodeLease{s: s, id: id, takeover: true}
	if s.d == postgresDialect {
		conn, err := s.lockNode(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("store: take over node %s: %w", id, err)
		}
		if conn == nil {
			return nil, fmt.Errorf("%w: %s", ErrNodeLive, id)
		}
		l.conn = conn
	}
	n, err := s.GetNode(ctx, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return l, nil
	case err != nil:
		l.release()
		return nil, err
	case n.State != NodeStopped && now().Sub(n.SeenAt) < deadAfter:
		l.release()
		return nil, fmt.Errorf("%w: %s was seen %s ago", ErrNodeLive, id, now().Sub(n.SeenAt).Round(time.Millisecond))
	}
	return l, nil
}

const nodeCols = `id, sip_addr, http_addr, version, state, started_at, seen_at, stopped_at`

func scanNode(sc scanner) (Node, error) {
	var n Node
	var started, seen, stopped sql.NullInt64
	err := sc.Scan(&n.ID, &n.SIPAddr, &n.HTTPAddr, &n.Version, &n.State, &started, &seen, &stopped)
	n.StartedAt, n.SeenAt, n.StoppedAt = fromMicros(started), fromMicros(seen), fromMicros(stopped)
	return n, err
}

// GetNode returns the node with id, or ErrNotFound.
func (s *Store) GetNode(ctx context.Context, id string) (*Node, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	n, err := scanNode(db.QueryRowContext(ctx, `SELECT `+nodeCols+` FROM nodes WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: node %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get node %s: %w", id, err)
	}
	return &n, nil
}

// ListNodes returns every node the database has seen, by id.
func (s *Store) ListNodes(ctx context.Context) ([]Node, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT `+nodeCols+` FROM nodes ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: list nodes: %w", err)
	}
	defer rows.Close()
	out := []Node{}
	for rows.Next() {
		n, err := scanNode(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list nodes: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// OrphanedNodes returns the ids of nodes other than self that have calls recorded in progress
// or payment attempts pending: the candidates for TakeOver (which tells the dead from the
// busy).
func (s *Store) OrphanedNodes(ctx context.Context, self string) ([]string, error) {
	db, err := s.reader()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT node FROM calls WHERE state IN (?, ?) AND node <> ?
		UNION SELECT node FROM payment_attempts WHERE status = ? AND node <> ? ORDER BY 1`,
		CallRinging, CallAnswered, self, AttemptPending, self)
	if err != nil {
		return nil, fmt.Errorf("store: orphaned nodes: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: orphaned nodes: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}
