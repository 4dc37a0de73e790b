package replay

import (
	"encoding/json"
	"time"

	"github.com/paybridge/paybridge/event"
)

// Timeline is the readable timeline of a replayed call (event.Timeline): one line per step.
func (r *Result) Timeline() []event.TimelineLine {
	start := time.Unix(0, 0).UTC()
	evs := make([]event.Event, 0, len(r.Events))
	for _, e := range r.Events {
		d := event.New(e.Type)
		if len(e.Fields) > 0 {
			if err := json.Unmarshal(e.Fields, d); err != nil {
				continue
			}
		}
		evs = append(evs, event.Event{Time: start.Add(time.Duration(e.At * float64(time.Second))), Step: e.Step, Data: d})
	}
	return event.Timeline(evs)
}
