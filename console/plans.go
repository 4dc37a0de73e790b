package console

import "time"

// PlanSource is what the console needs of the loaded call plans: serve implements it over the
// callplan package (console does not import callplan).
type PlanSource interface {
	// Plans lists the plans as last loaded, with their validation messages.
	Plans() []PlanInfo
	// Reload re-reads the plan files. A plan that fails validation keeps its previous version
	// running; the error summarises what failed.
	Reload() error
	// PlanText returns the source of the plan called name: the version with hash when it is
	// known (the one a call ran), else the version running now (Current says which).
	PlanText(name, hash string) (PlanText, bool)
}

// PlanText is a plan's XML as loaded.
type PlanText struct {
	Name    string `json:"name"`
	File    string `json:"file"` // base name
	Hash    string `json:"hash"`
	Current bool   `json:"current"`         // this is the version running now
	Asked   string `json:"asked,omitempty"` // the hash asked for, when it was not known (an older version)
	Source  string `json:"source"`
}

// PlanInfo describes one call plan.
type PlanInfo struct {
	Name     string        `json:"name"`
	File     string        `json:"file"`
	Numbers  []string      `json:"numbers,omitempty"` // dialled numbers it answers
	Hash     string        `json:"hash,omitempty"`    // content hash, as stored with each call
	Valid    bool          `json:"valid"`
	Messages []PlanMessage `json:"messages,omitempty"`
	LoadedAt time.Time     `json:"loaded_at,omitzero"`
}

// PlanMessage is one validation finding, positioned in the plan file.
type PlanMessage struct {
	Severity string `json:"severity"` // error | warning
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	Text     string `json:"text"` // file:line:col: message
}
