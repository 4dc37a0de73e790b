package e2e

// A minimal Chrome DevTools Protocol client over gorilla/websocket: launch Debian's headless
// Chromium, attach to its page, evaluate JavaScript, wait for conditions, take screenshots and
// collect page errors (exceptions, CSP violations, console errors).

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// consoleBrowser is one headless Chromium with one page attached over CDP.
type consoleBrowser struct {
	t       *testing.T
	cmd     *exec.Cmd
	conn    *websocket.Conn
	wmu     sync.Mutex
	mu      sync.Mutex
	nextID  int
	pending map[int]chan cdpReply
	errs    []string // page exceptions, CSP violations, console errors
	closed  chan struct{}
}

type cdpReply struct {
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

type cdpMessage struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	cdpReply
}

// startConsoleBrowser launches Chromium with the flags of the brief and attaches to its page.
func startConsoleBrowser(t *testing.T, width, height int) *consoleBrowser {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not installed: run make deps (%v)", err)
	}
	profile, err := os.MkdirTemp("", "paybridge-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1",
		fmt.Sprintf("--window-size=%d,%d", width, height), "--hide-scrollbars", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers die with it
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		os.RemoveAll(profile)
		t.Fatalf("start chromium: %v", err)
	}
	var logMu sync.Mutex
	var logTail []string
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			logTail = append(logTail, sc.Text())
			if len(logTail) > 30 {
				logTail = logTail[1:]
			}
			logMu.Unlock()
		}
	}()
	t.Cleanup(func() {
		// Kill the process group this test started (chromium and its zygote/renderers).
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		for i := 0; i < 50; i++ {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	// Chromium writes its DevTools port to DevToolsActivePort in the profile.
	var port int
	deadline := time.Now().Add(30 * time.Second)
	for port == 0 {
		if time.Now().After(deadline) {
			logMu.Lock()
			defer logMu.Unlock()
			t.Fatalf("chromium did not open its DevTools port in 30s; stderr:\n%s", strings.Join(logTail, "\n"))
		}
		if b, err := os.ReadFile(filepath.Join(profile, "DevToolsActivePort")); err == nil {
			line, _, _ := strings.Cut(string(b), "\n")
			port, _ = strconv.Atoi(strings.TrimSpace(line))
		}
		time.Sleep(50 * time.Millisecond)
	}
	var targets []struct {
		Type string `json:"type"`
		URL  string `json:"webSocketDebuggerUrl"`
	}
	for i := 0; ; i++ {
		res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/json/list", port))
		if err == nil {
			err = json.NewDecoder(res.Body).Decode(&targets)
			res.Body.Close()
		}
		if err == nil && len(targets) > 0 {
			break
		}
		if i > 100 {
			t.Fatalf("chromium DevTools target list: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wsURL := ""
	for _, tg := range targets {
		if tg.Type == "page" {
			wsURL = tg.URL
			break
		}
	}
	if wsURL == "" {
		t.Fatalf("no page target in %+v", targets)
	}
	conn, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("attach to chromium page: %v", err)
	}
	conn.SetReadLimit(64 << 20) // screenshots
	b := &consoleBrowser{t: t, cmd: cmd, conn: conn, pending: map[int]chan cdpReply{}, closed: make(chan struct{})}
	go b.read()
	t.Cleanup(func() { conn.Close() })
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		b.call(m, nil, nil)
	}
	return b
}

func (b *consoleBrowser) read() {
	defer close(b.closed)
	for {
		var m cdpMessage
		if err := b.conn.ReadJSON(&m); err != nil {
			b.mu.Lock()
			for id, ch := range b.pending {
				ch <- cdpReply{Error: &struct {
					Code    int    `json:"code"`
					Message string `json:"message"`
				}{-1, "connection closed: " + err.Error()}}
				delete(b.pending, id)
			}
			b.mu.Unlock()
			return
		}
		if m.ID != 0 {
			b.mu.Lock()
			ch := b.pending[m.ID]
			delete(b.pending, m.ID)
			b.mu.Unlock()
			if ch != nil {
				ch <- m.cdpReply
			}
			continue
		}
		b.event(m.Method, m.Params)
	}
}

// event records what would be a bug on the page.
func (b *consoleBrowser) event(method string, params json.RawMessage) {
	var msg string
	switch method {
	case "Runtime.exceptionThrown":
		var p struct {
			Details struct {
				Text      string `json:"text"`
				Exception struct {
					Description string `json:"description"`
				} `json:"exception"`
			} `json:"exceptionDetails"`
		}
		_ = json.Unmarshal(params, &p)
		msg = "exception: " + p.Details.Text + " " + p.Details.Exception.Description
	case "Log.entryAdded":
		var p struct {
			Entry struct {
				Source, Level, Text, URL string
			} `json:"entry"`
		}
		_ = json.Unmarshal(params, &p)
		if p.Entry.Level == "error" || p.Entry.Source == "security" {
			msg = "log " + p.Entry.Source + "/" + p.Entry.Level + ": " + p.Entry.Text + " " + p.Entry.URL
		}
	case "Runtime.consoleAPICalled":
		var p struct {
			Type string `json:"type"`
			Args []struct {
				Value any `json:"value"`
			} `json:"args"`
		}
		_ = json.Unmarshal(params, &p)
		if p.Type == "error" || p.Type == "assert" {
			msg = fmt.Sprintf("console.%s: %v", p.Type, p.Args)
		}
	}
	if msg != "" {
		b.mu.Lock()
		b.errs = append(b.errs, msg)
		b.mu.Unlock()
	}
}

// call sends one CDP command and decodes its result into out (may be nil).
func (b *consoleBrowser) call(method string, params any, out any) {
	b.t.Helper()
	if err := b.tryCall(method, params, out); err != nil {
		b.t.Fatalf("CDP %s: %v", method, err)
	}
}

func (b *consoleBrowser) tryCall(method string, params any, out any) error {
	ch := make(chan cdpReply, 1)
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	b.pending[id] = ch
	b.mu.Unlock()
	if params == nil {
		params = struct{}{}
	}
	b.wmu.Lock()
	err := b.conn.WriteJSON(map[string]any{"id": id, "method": method, "params": params})
	b.wmu.Unlock()
	if err != nil {
		return err
	}
	select {
	case r := <-ch:
		if r.Error != nil {
			return fmt.Errorf("%d %s", r.Error.Code, r.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(r.Result, out)
		}
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("no reply in 30s")
	}
}

// navigate loads url and waits for the document to be complete.
func (b *consoleBrowser) navigate(url string) {
	b.t.Helper()
	var r struct {
		ErrorText string `json:"errorText"`
	}
	b.call("Page.navigate", map[string]any{"url": url}, &r)
	if r.ErrorText != "" {
		b.t.Fatalf("navigate %s: %s", url, r.ErrorText)
	}
	b.waitFor("document loaded", `document.readyState === "complete"`, 15*time.Second)
}

// eval evaluates a JavaScript expression (awaiting promises) and decodes its value into out.
func (b *consoleBrowser) eval(expr string, out any) error {
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := b.tryCall("Runtime.evaluate", map[string]any{"expression": expr, "awaitPromise": true, "returnByValue": true}, &r); err != nil {
		return err
	}
	if r.Exception != nil {
		return fmt.Errorf("%s", r.Exception.Text)
	}
	if out != nil && len(r.Result.Value) > 0 {
		return json.Unmarshal(r.Result.Value, out)
	}
	return nil
}

// mustEval is eval that fails the test.
func (b *consoleBrowser) mustEval(expr string, out any) {
	b.t.Helper()
	if err := b.eval(expr, out); err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
}

// waitFor polls a boolean JavaScript expression until it is true.
func (b *consoleBrowser) waitFor(what, expr string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		var ok bool
		if last = b.eval("Boolean("+expr+")", &ok); last == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	var body string
	_ = b.eval(`document.body ? document.body.innerText.slice(0, 3000) : ""`, &body)
	b.t.Fatalf("timed out after %v waiting for %s (%s; last error %v); page text:\n%s", timeout, what, expr, last, body)
}

// screenshot saves a full-page PNG to path and returns its size in bytes.
func (b *consoleBrowser) screenshot(path string) int {
	b.t.Helper()
	var m struct {
		Content struct {
			Width  float64 `json:"width"`
			Height float64 `json:"height"`
		} `json:"cssContentSize"`
	}
	b.call("Page.getLayoutMetrics", nil, &m)
	var r struct {
		Data string `json:"data"`
	}
	b.call("Page.captureScreenshot", map[string]any{"format": "png", "captureBeyondViewport": true,
		"clip": map[string]any{"x": 0, "y": 0, "width": m.Content.Width, "height": m.Content.Height, "scale": 1}}, &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) < 1000 || string(png[1:4]) != "PNG" {
		b.t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return len(png)
}

// pageErrors returns the exceptions, CSP violations and console errors seen so far.
func (b *consoleBrowser) pageErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errs...)
}

// repoRoot finds the module root (for out/).
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no go.mod above %s", dir)
		}
	}
}

// screenshotViewport saves what the browser window shows to path. A full-page capture leaves
// the text of a scrolled box (the plan view) out; the window shows it as a person sees it.
func (b *consoleBrowser) screenshotViewport(path string) int {
	b.t.Helper()
	var r struct {
		Data string `json:"data"`
	}
	b.call("Page.captureScreenshot", map[string]any{"format": "png"}, &r)
	png, err := base64.StdEncoding.DecodeString(r.Data)
	if err != nil || len(png) < 1000 || string(png[1:4]) != "PNG" {
		b.t.Fatalf("screenshot: %d bytes, %v", len(png), err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return len(png)
}
