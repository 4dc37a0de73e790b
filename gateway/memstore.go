package gateway

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// MemoryStore keeps attempts, links, the SMS outbox and webhook deliveries in memory: the Store
// of `paybridge replay` and of tests. It is safe for concurrent use and returns copies, never
// its own records.
type MemoryStore struct {
	mu         sync.Mutex
	attempts   map[string]*Attempt
	order      []string
	links      map[string]*Link // by token hash
	sms        []*SMS
	deliveries map[string]*Delivery
	dorder     []string
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty in-memory store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		attempts:   map[string]*Attempt{},
		links:      map[string]*Link{},
		deliveries: map[string]*Delivery{},
	}
}

// BeginAttempt implements AttemptLog.
func (m *MemoryStore) BeginAttempt(_ context.Context, a *Attempt) (*Attempt, error) {
	if a.Key == "" {
		return nil, fmt.Errorf("%w: attempt without idempotency key", ErrConnectorConfig)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.attempts[a.Key]; ok {
		c := *old
		return &c, ErrDuplicate
	}
	c := *a
	if c.State == "" {
		c.State = AttemptPending
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	c.UpdatedAt = c.CreatedAt
	m.attempts[a.Key] = &c
	m.order = append(m.order, a.Key)
	out := c
	return &out, nil
}

// CompleteAttempt implements AttemptLog.
func (m *MemoryStore) CompleteAttempt(_ context.Context, key string, r AttemptResult) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.attempts[key]
	if !ok {
		return fmt.Errorf("attempt %q: %w", key, ErrNotFound)
	}
	a.State = r.State
	a.Result = r
	if r.SessionID != "" {
		a.SessionID = r.SessionID
	}
	a.LastError = ""
	a.UpdatedAt = time.Now()
	return nil
}

// NoteAttemptError implements AttemptLog.
func (m *MemoryStore) NoteAttemptError(_ context.Context, key, msg string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.attempts[key]
	if !ok {
		return fmt.Errorf("attempt %q: %w", key, ErrNotFound)
	}
	a.LastError = msg
	a.UpdatedAt = time.Now()
	return nil
}

// GetAttempt implements AttemptLog.
func (m *MemoryStore) GetAttempt(_ context.Context, key string) (*Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.attempts[key]
	if !ok {
		return nil, fmt.Errorf("attempt %q: %w", key, ErrNotFound)
	}
	c := *a
	return &c, nil
}

// PendingAttempts implements AttemptLog.
func (m *MemoryStore) PendingAttempts(_ context.Context, before time.Time) ([]*Attempt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Attempt
	for _, k := range m.order {
		a := m.attempts[k]
		if a.State == AttemptPending && a.CreatedAt.Before(before) {
			c := *a
			out = append(out, &c)
		}
	}
	return out, nil
}

// Attempts returns every attempt in creation order.
func (m *MemoryStore) Attempts() []Attempt {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Attempt, 0, len(m.order))
	for _, k := range m.order {
		out = append(out, *m.attempts[k])
	}
	return out
}

// CreateLink implements LinkStore.
func (m *MemoryStore) CreateLink(_ context.Context, l *Link) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.links[l.TokenHash]; ok {
		return ErrDuplicate
	}
	c := *l
	if c.State == "" {
		c.State = LinkActive
	}
	m.links[l.TokenHash] = &c
	return nil
}

// CreateLinkCapped implements CappedLinkStore: count and insert under the store's lock.
func (m *MemoryStore) CreateLinkCapped(_ context.Context, l *Link, since time.Time, max int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, x := range m.links {
		if x.To == l.To && !x.CreatedAt.Before(since) {
			n++
		}
	}
	if n >= max {
		return fmt.Errorf("%w: %s has had %d links since %s", ErrSMSCap, l.To, n, since.UTC().Format(time.RFC3339))
	}
	if _, ok := m.links[l.TokenHash]; ok {
		return ErrDuplicate
	}
	c := *l
	if c.State == "" {
		c.State = LinkActive
	}
	m.links[l.TokenHash] = &c
	return nil
}

// LinkByHash implements LinkStore.
func (m *MemoryStore) LinkByHash(_ context.Context, hash string) (*Link, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[hash]
	if !ok {
		return nil, ErrNotFound
	}
	c := *l
	return &c, nil
}

// ClaimLink implements LinkStore.
func (m *MemoryStore) ClaimLink(_ context.Context, hash string, now time.Time) (*Link, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[hash]
	if !ok {
		return nil, ErrNotFound
	}
	switch l.State {
	case LinkUsed, LinkFailed:
		return nil, ErrLinkUsed
	case LinkClaimed:
		return nil, ErrLinkBusy
	}
	if !now.Before(l.ExpiresAt) {
		return nil, ErrLinkExpired
	}
	l.State = LinkClaimed
	c := *l
	return &c, nil
}

// FinishLink implements LinkStore.
func (m *MemoryStore) FinishLink(_ context.Context, hash string, o LinkOutcome) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.links[hash]
	if !ok {
		return ErrNotFound
	}
	if l.State != LinkClaimed {
		return fmt.Errorf("link %s is %s, not claimed: %w", l.ID, l.State, ErrLinkBusy)
	}
	switch {
	case o.Paid:
		l.State = LinkUsed
		l.UsedAt = o.At
		l.Confirmation = o.Confirmation
	case o.Failed:
		l.State = LinkFailed
		l.Attempts++
	case o.Retry:
		l.State = LinkActive
	default:
		l.State = LinkActive
		l.Attempts++
	}
	return nil
}

// SetLinkMessage implements LinkStore.
func (m *MemoryStore) SetLinkMessage(_ context.Context, id, messageID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, l := range m.links {
		if l.ID == id {
			l.MessageID = messageID
			return nil
		}
	}
	return ErrNotFound
}

// CountLinksTo implements LinkStore.
func (m *MemoryStore) CountLinksTo(_ context.Context, to string, since time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, l := range m.links {
		if l.To == to && !l.CreatedAt.Before(since) {
			n++
		}
	}
	return n, nil
}

// Links returns every link, oldest first.
func (m *MemoryStore) Links() []Link {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Link, 0, len(m.links))
	for _, l := range m.links {
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b Link) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// EnqueueSMS implements SMSOutbox.
func (m *MemoryStore) EnqueueSMS(_ context.Context, s *SMS) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *s
	if c.Status == "" {
		c.Status = "queued"
	}
	m.sms = append(m.sms, &c)
	return nil
}

// Outbox returns every text in the outbox, oldest first.
func (m *MemoryStore) Outbox() []SMS {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]SMS, 0, len(m.sms))
	for _, s := range m.sms {
		out = append(out, *s)
	}
	return out
}

// EnqueueDelivery implements WebhookStore.
func (m *MemoryStore) EnqueueDelivery(_ context.Context, d *Delivery) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.deliveries[d.ID]; ok {
		return ErrDuplicate
	}
	c := *d
	c.Body = slices.Clone(d.Body)
	if c.State == "" {
		c.State = DeliveryPending
	}
	m.deliveries[d.ID] = &c
	m.dorder = append(m.dorder, d.ID)
	return nil
}

// DueDeliveries implements WebhookStore.
func (m *MemoryStore) DueDeliveries(_ context.Context, now time.Time, limit int) ([]*Delivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Delivery
	for _, id := range m.dorder {
		d := m.deliveries[id]
		if d.State == DeliveryPending && !d.NextAttempt.After(now) {
			c := *d
			c.Body = slices.Clone(d.Body)
			out = append(out, &c)
			if limit > 0 && len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// MarkDelivered implements WebhookStore.
func (m *MemoryStore) MarkDelivered(_ context.Context, id string, status int, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.deliveries[id]
	if !ok {
		return ErrNotFound
	}
	d.State = DeliveryDelivered
	d.Attempts++
	d.LastStatus = status
	d.LastError = ""
	d.DeliveredAt = at
	return nil
}

// MarkFailed implements WebhookStore.
func (m *MemoryStore) MarkFailed(_ context.Context, id string, status int, msg string, next time.Time, dead bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.deliveries[id]
	if !ok {
		return ErrNotFound
	}
	d.Attempts++
	d.LastStatus = status
	d.LastError = msg
	d.NextAttempt = next
	if dead {
		d.State = DeliveryDead
	}
	return nil
}

// Deliveries returns every webhook delivery in enqueue order.
func (m *MemoryStore) Deliveries() []Delivery {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Delivery, 0, len(m.dorder))
	for _, id := range m.dorder {
		c := *m.deliveries[id]
		c.Body = slices.Clone(c.Body)
		out = append(out, c)
	}
	return out
}
