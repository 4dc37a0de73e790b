package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/paybridge/paybridge/callplan"
	"github.com/paybridge/paybridge/console"
	"github.com/paybridge/paybridge/engine"
	"github.com/paybridge/paybridge/prompts"
	"github.com/paybridge/paybridge/store"
)

// planRegistry holds the plans a node answers with. Reload re-reads the directory; a plan file
// that no longer validates keeps its previous version running (and says why), so an admin's
// typo never takes a number off the air.
type planRegistry struct {
	dir    string
	getenv func(string) string
	log    *slog.Logger
	audit  *store.Store

	mu      sync.RWMutex
	set     *callplan.PlanSet
	byFile  map[string]*callplan.Plan // the version running, per file
	diags   map[string]callplan.Diagnostics
	loaded  map[string]time.Time
	prompts map[string]*prompts.Set // per plan file

	// onLoad, when set, is told of every plan set a Reload puts in place (serve opens their
	// connectors, so that links and reconciliation of a new plan find them).
	onLoad func(*callplan.PlanSet)

	// speech renders the plans' static <Say> text when they load (nil: --tts off).
	speech engine.Renderer

	// sources keeps the text of every plan version loaded since start, by hash (a call's
	// plan_hash), for the console's plan view; at most maxSources, the oldest dropped.
	sources     map[string]console.PlanText
	sourceOrder []string
}

// maxSources bounds the plan versions kept for the plan view.
const maxSources = 256

func newPlanRegistry(dir string, getenv func(string) string, log *slog.Logger, audit *store.Store) (*planRegistry, error) {
	empty, _ := callplan.NewPlanSet()
	return &planRegistry{dir: dir, getenv: getenv, log: log, audit: audit, set: empty,
		byFile: map[string]*callplan.Plan{}, diags: map[string]callplan.Diagnostics{},
		loaded: map[string]time.Time{}, prompts: map[string]*prompts.Set{}, sources: map[string]console.PlanText{}}, nil
}

// Set is the plan set calls are routed with now.
func (r *planRegistry) Set() *callplan.PlanSet {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.set
}

// Prompts returns the prompt set of plan (its <Prompts dir>, then the bundled pack).
func (r *planRegistry) Prompts(p *callplan.Plan) *prompts.Set {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.prompts[p.File]
}

// Reload implements console.PlanSource and SIGHUP.
func (r *planRegistry) Reload() error {
	fresh, diags := callplan.LoadDir(r.dir, r.getenv)
	byFile := map[string]*callplan.Plan{}
	for _, p := range fresh.Plans() {
		// What tts cannot say is an error of the plan, as validate reports it.
		if ds := engine.CheckSpeech(p); len(ds) > 0 {
			diags = append(diags, ds...)
			if ds.HasErrors() {
				continue
			}
		}
		byFile[p.File] = p
	}
	perFile := map[string]callplan.Diagnostics{}
	var problems []error
	for _, d := range diags {
		perFile[d.Pos.File] = append(perFile[d.Pos.File], d)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	// A file that failed keeps the version that was running.
	for file, ds := range perFile {
		if !ds.HasErrors() {
			continue
		}
		if old, ok := r.byFile[file]; ok && byFile[file] == nil {
			byFile[file] = old
			problems = append(problems, fmt.Errorf("%s: invalid, keeping the previous version", file))
		} else {
			problems = append(problems, fmt.Errorf("%s: invalid, not loaded", file))
		}
		for _, d := range ds {
			if d.Severity == callplan.SeverityError {
				r.log.Warn("plan problem", "diagnostic", d.String())
			}
		}
	}
	plans := make([]*callplan.Plan, 0, len(byFile))
	for _, p := range byFile {
		plans = append(plans, p)
	}
	sort.Slice(plans, func(i, j int) bool { return plans[i].File < plans[j].File })
	set, cross := callplan.NewPlanSet(plans...)
	if cross.HasErrors() {
		// Two plans now claim one number: keep everything as it was.
		for _, d := range cross {
			perFile[d.Pos.File] = append(perFile[d.Pos.File], d)
		}
		r.diags = perFile
		return fmt.Errorf("plans conflict, nothing reloaded: %s", cross.String())
	}
	ps := map[string]*prompts.Set{}
	for _, p := range plans {
		s, err := prompts.OpenPlan(p)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s: prompts: %w", p.File, err))
			if s, err = prompts.Open(""); err != nil {
				return err
			}
		}
		ps[p.File] = s
		// Static speech is rendered now (into the cache), so that the first caller waits for
		// nothing; a plan already loaded has had it rendered.
		if r.speech != nil && r.byFile[p.File] != p {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			n, err := engine.PrerenderSpeech(ctx, p, r.speech)
			cancel()
			if err != nil {
				d := callplan.Diagnostic{Pos: p.Pos, Severity: callplan.SeverityWarning, Code: "speech-render",
					Message: fmt.Sprintf("speech could not be rendered at load (calls will try again): %v", err)}
				perFile[p.File] = append(perFile[p.File], d)
				r.log.Warn("plan problem", "diagnostic", d.String())
			} else if n > 0 {
				r.log.Info("speech rendered", "plan", p.Name, "requests", n)
			}
		}
		// A prompt no file provides would be silence for the caller: say so at load, as validate does.
		for _, d := range prompts.Check(p) {
			perFile[p.File] = append(perFile[p.File], d)
			r.log.Warn("plan problem", "diagnostic", d.String())
		}
		if r.byFile[p.File] != p {
			r.loaded[p.File] = time.Now()
			r.keepSource(p)
		}
	}
	r.set, r.byFile, r.diags, r.prompts = set, byFile, perFile, ps
	r.log.Info("plans loaded", "dir", r.dir, "plans", len(plans))
	if r.onLoad != nil {
		r.onLoad(set)
	}
	return errors.Join(problems...)
}

// keepSource keeps the text of a plan version for the plan view: the file as read now, if it
// still is the version that was parsed (same hash).
func (r *planRegistry) keepSource(p *callplan.Plan) {
	if _, ok := r.sources[p.Hash]; ok {
		return
	}
	b, err := os.ReadFile(p.File)
	if err != nil {
		return
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != p.Hash {
		return // edited again since: the next reload keeps that version
	}
	r.sources[p.Hash] = console.PlanText{Name: p.Name, File: filepath.Base(p.File), Hash: p.Hash, Source: string(b)}
	r.sourceOrder = append(r.sourceOrder, p.Hash)
	if len(r.sourceOrder) > maxSources {
		delete(r.sources, r.sourceOrder[0])
		r.sourceOrder = r.sourceOrder[1:]
	}
}

// PlanText implements console.PlanSource: the version with hash when it was loaded since
// start, else the version of name running now.
func (r *planRegistry) PlanText(name, hash string) (console.PlanText, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var current *callplan.Plan
	for _, p := range r.byFile {
		if p.Name == name {
			current = p
			break
		}
	}
	if pt, ok := r.sources[hash]; ok && pt.Name == name {
		pt.Current = current != nil && current.Hash == hash
		return pt, true
	}
	if current == nil {
		return console.PlanText{}, false
	}
	pt, ok := r.sources[current.Hash]
	if !ok {
		return console.PlanText{}, false
	}
	pt.Current = true
	if hash != "" && hash != current.Hash {
		pt.Asked = hash
	}
	return pt, true
}

// Plans implements console.PlanSource.
func (r *planRegistry) Plans() []console.PlanInfo {
	r.mu.RLock()
	defer r.mu.RUnlock()
	files := map[string]bool{}
	for f := range r.byFile {
		files[f] = true
	}
	for f := range r.diags {
		if f != "" && filepath.Ext(f) != "" {
			files[f] = true
		}
	}
	var out []console.PlanInfo
	for f := range files {
		info := console.PlanInfo{File: f, Valid: !r.diags[f].HasErrors(), LoadedAt: r.loaded[f]}
		if p := r.byFile[f]; p != nil {
			info.Name, info.Hash, info.Numbers = p.Name, p.Hash, append([]string(nil), p.Match...)
			if p.Fallback {
				info.Numbers = append(info.Numbers, "*")
			}
		} else {
			info.Name = filepath.Base(f)
		}
		for _, d := range r.diags[f] {
			info.Messages = append(info.Messages, console.PlanMessage{Severity: d.Severity.String(),
				Line: d.Pos.Line, Col: d.Pos.Col, Text: d.String()})
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].File < out[j].File })
	return out
}

// audited reload for the console is recorded by the console itself; SIGHUP reloads here.
func (r *planRegistry) reloadFromSignal(ctx context.Context) {
	err := r.Reload()
	detail := "ok"
	if err != nil {
		detail = err.Error()
	}
	if r.audit != nil {
		_ = r.audit.AppendAudit(ctx, "signal", "plans.reload", detail)
	}
}
