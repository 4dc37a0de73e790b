package console

import (
	"sync"

	"github.com/paybridge/paybridge/event"
)

// An agent's live feed. The console page's agent desk follows the bridged calls over the
// WebSocket feed; signed in with an agent's token it must see the calls bridged to that agent
// and nothing else. The filter runs on the server, in the hub, before a byte is queued for the
// connection: the browser is never trusted to drop what it should not have.
//
// What an agent's feed carries, for the calls bridged to that agent only:
//
//   - call.bridged (the bridge to this agent started),
//   - agent.payment (each masked state of the payment the agent takes),
//   - call.unbridged (the bridge ended).
//
// Nothing else: no other call's events, no call.started/answered/ended (numbers, plans), no
// step or Pay progress of self-service payments, and a snapshot with no calls (the desk loads
// its calls from GET /api/agent/calls, which filters the same way).

// maxAgentCalls bounds an agent feed's table of bridged calls (an agent has one or two).
const maxAgentCalls = 1000

// agentFeed is the filter of one agent's subscription. Its table is built from the events
// themselves (and seeded from the desk when the feed starts), so the filter never calls out
// of the hub while the hub's lock is held.
type agentFeed struct {
	agent string
	mu    sync.Mutex
	calls map[string]bool // calls bridged to the agent now
}

func newAgentFeed(agent string) *agentFeed {
	return &agentFeed{agent: agent, calls: map[string]bool{}}
}

// seed adds the calls the desk reports bridged to the agent (callID → agent).
func (f *agentFeed) seed(bridged map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, a := range bridged {
		if a == f.agent && len(f.calls) < maxAgentCalls {
			f.calls[id] = true
		}
	}
}

// keep reports whether e goes to the agent.
func (f *agentFeed) keep(e event.Event) bool {
	if e.CallID == "" {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch d := e.Data.(type) {
	case *event.Bridged:
		if d.Agent != f.agent {
			delete(f.calls, e.CallID) // bridged to someone else now
			return false
		}
		if len(f.calls) >= maxAgentCalls {
			return false
		}
		f.calls[e.CallID] = true
		return true
	case *event.AgentPayment:
		return f.calls[e.CallID] && (d.Agent == "" || d.Agent == f.agent)
	case *event.Unbridged:
		ok := f.calls[e.CallID]
		delete(f.calls, e.CallID)
		return ok
	case *event.CallEnded:
		delete(f.calls, e.CallID)
	}
	return false
}
