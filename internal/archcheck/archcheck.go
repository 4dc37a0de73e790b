package archcheck

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// Rules is what docs/architecture.md says about the packages of the module. Package paths
// are relative to the module ("engine", "internal/app"); outside modules are full module
// paths ("github.com/emiago/sipgo").
type Rules struct {
	// Imports lists, for every package, what it imports besides the standard library.
	Imports map[string][]string
	// Walls lists, for some packages, what they must never depend on, directly or not.
	Walls map[string][]string
}

// Graph maps a package (module-relative) to the import paths it imports, or depends on.
// Paths of the module's own packages are module-relative, others as go list reports them; the
// keys of the direct graph are the module's packages.
type Graph map[string][]string

var backticked = regexp.MustCompile("`([^`]+)`")

// ParseDoc reads the tables of docs/architecture.md: every table whose header is
// "| package | owns | imports … |" (one row per package; the third cell lists the imports
// in backticks, "—" for none) and the one whose header is "| package | never depends on … |".
func ParseDoc(md []byte) (Rules, error) {
	r := Rules{Imports: map[string][]string{}, Walls: map[string][]string{}}
	const (
		none = iota
		imports
		walls
	)
	mode := none
	sc := bufio.NewScanner(bytes.NewReader(md))
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if !strings.HasPrefix(line, "|") {
			mode = none
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case cells[0] == "package" && len(cells) == 3 && cells[1] == "owns" && strings.HasPrefix(cells[2], "imports"):
			mode = imports
			continue
		case cells[0] == "package" && len(cells) == 2 && strings.HasPrefix(cells[1], "never depends on"):
			mode = walls
			continue
		case cells[0] == "package" || strings.HasPrefix(cells[0], "---"):
			continue
		case mode == none:
			continue
		}
		m := backticked.FindStringSubmatch(cells[0])
		if m == nil {
			return r, fmt.Errorf("line %d: a row of a package table whose first cell is not a `package`", n)
		}
		pkg := m[1]
		switch mode {
		case imports:
			if len(cells) != 3 {
				return r, fmt.Errorf("line %d: %s: a package row has three cells", n, pkg)
			}
			if _, dup := r.Imports[pkg]; dup {
				return r, fmt.Errorf("line %d: %s has two rows", n, pkg)
			}
			r.Imports[pkg] = listed(cells[2])
		case walls:
			if len(cells) != 2 {
				return r, fmt.Errorf("line %d: %s: a wall row has two cells", n, pkg)
			}
			r.Walls[pkg] = append(r.Walls[pkg], listed(cells[1])...)
		}
	}
	if len(r.Imports) == 0 {
		return r, fmt.Errorf("no package table found")
	}
	return r, sc.Err()
}

// listed returns the backticked entries of a cell ("—" has none).
func listed(cell string) []string {
	out := []string{}
	for _, m := range backticked.FindAllStringSubmatch(cell, -1) {
		out = append(out, m[1])
	}
	return out
}

// Standard reports whether an import path is the standard library's (or cgo's "C").
func Standard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return path == "C" || !strings.Contains(first, ".")
}

// covers reports whether entry names path: the same path, or a module or package path that
// path lies under ("github.com/pion/sdp" covers "github.com/pion/sdp/v3").
func covers(entry, path string) bool {
	return path == entry || strings.HasPrefix(path, entry+"/")
}

// Check compares the rules with the direct imports and the transitive dependencies of every
// package, and returns what disagrees, sorted; nothing when the page and the code agree.
func Check(r Rules, direct, deps Graph) []string {
	var out []string
	for pkg, imps := range direct {
		allowed, ok := r.Imports[pkg]
		if !ok {
			out = append(out, fmt.Sprintf("%s: no row in docs/architecture.md", pkg))
			continue
		}
		used := map[string]bool{}
		for _, imp := range imps {
			if _, mine := direct[imp]; !mine && Standard(imp) {
				continue
			}
			// The exact entry first: "sandbox" must not claim "sandbox/captureline" when the
			// row lists both.
			i := slices.Index(allowed, imp)
			if i < 0 {
				i = slices.IndexFunc(allowed, func(e string) bool { return covers(e, imp) })
			}
			if i < 0 {
				out = append(out, fmt.Sprintf("%s imports %s, which its row does not list", pkg, imp))
				continue
			}
			used[allowed[i]] = true
		}
		for _, e := range allowed {
			if !used[e] {
				out = append(out, fmt.Sprintf("%s: its row lists %s, which it does not import", pkg, e))
			}
		}
	}
	for pkg := range r.Imports {
		if _, ok := direct[pkg]; !ok {
			out = append(out, fmt.Sprintf("%s: a row in docs/architecture.md, but no such package", pkg))
		}
	}
	for pkg, forbidden := range r.Walls {
		if _, ok := direct[pkg]; !ok {
			out = append(out, fmt.Sprintf("%s: a wall in docs/architecture.md, but no such package", pkg))
			continue
		}
		for _, dep := range deps[pkg] {
			for _, f := range forbidden {
				if covers(f, dep) {
					out = append(out, fmt.Sprintf("%s depends on %s, which its wall forbids", pkg, dep))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}
