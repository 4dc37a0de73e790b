// Package pgtemp runs a throwaway PostgreSQL cluster in a temporary directory: initdb, the
// postgres server as a child process on a private unix socket (or a random loopback port), and
// removal of everything on Stop. The store's tests, the end-to-end cluster test and `make
// cluster` use it; it never touches a shared server.
//
// It needs Debian's postgresql package (deps/apt/cluster.txt). Run as root, it runs initdb and
// postgres as the "postgres" system user (PostgreSQL refuses to run as root); otherwise as the
// current user. The server gets a parent-death signal, so a test binary that dies does not
// leave it behind.
package pgtemp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the name of the cluster's superuser; connections need no password (trust, on a
// socket only the cluster's owner can reach, or on loopback).
const Superuser = "paybridge"

// Options tune a cluster.
type Options struct {
	// TCP listens on 127.0.0.1 at a random free port as well as on the unix socket.
	TCP bool
	// Settings are extra postgresql.conf settings (name → value).
	Settings map[string]string
	// Log receives the server's output (default: DIR/postgres.log only).
	Log *os.File
}

// Cluster is a running throwaway cluster.
type Cluster struct {
	Dir     string // the temporary directory: data/, the socket, postgres.log
	Socket  string // the directory holding the unix socket
	Port    int    // the TCP port (Options.TCP) or the number in the socket's name
	Version string // the server's major version

	bin  string
	cred *syscall.Credential
	opt  Options

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// BinDir finds the PostgreSQL server programs: the directory of initdb on PATH, else the newest
// /usr/lib/postgresql/N/bin (Debian keeps them off PATH).
func BinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(p), "postgres")); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("pgtemp: PostgreSQL server programs not found (initdb); install Debian's postgresql package: make deps")
}

func versionOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start creates and starts a cluster. Stop removes it.
func Start(ctx context.Context, opt Options) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, opt: opt, Port: 5432, Version: strconv.Itoa(versionOf(bin))}
	// A short path: a unix socket's path must fit in 107 bytes.
	if c.Dir, err = os.MkdirTemp("", "pgtemp-"); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()
	c.Socket = c.Dir
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtemp: running as root needs the postgres system user (Debian's postgresql package): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(c.Dir, uid, gid); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(c.Dir, 0o700); err != nil {
		return nil, err
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", c.dataDir(), "-U", Superuser,
		"--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	initdb.Dir = c.Dir
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("pgtemp: initdb: %v\n%s", err, out)
	}
	if opt.TCP {
		if c.Port, err = freePort(); err != nil {
			return nil, err
		}
	}
	if err := c.start(ctx); err != nil {
		return nil, err
	}
	ok = true
	return c, nil
}

func (c *Cluster) dataDir() string { return filepath.Join(c.Dir, "data") }

// LogPath is the server's log file.
func (c *Cluster) LogPath() string { return filepath.Join(c.Dir, "postgres.log") }

// start runs the server on the existing data directory and waits until it accepts connections.
func (c *Cluster) start(ctx context.Context) error {
	listen := "" // unix socket only
	if c.opt.TCP {
		listen = "127.0.0.1"
	}
	args := []string{"-D", c.dataDir(), "-k", c.Socket, "-p", strconv.Itoa(c.Port),
		"-c", "listen_addresses=" + listen,
		"-c", "max_connections=300",
		"-c", "shared_buffers=32MB",
		"-c", "unix_socket_permissions=0777",
		"-c", "log_min_messages=warning",
	}
	keys := make([]string, 0, len(c.opt.Settings))
	for k := range c.opt.Settings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-c", k+"="+c.opt.Settings[k])
	}
	logf, err := os.OpenFile(c.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(c.bin, "postgres"), args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGQUIT, Setpgid: true}
	cmd.Dir = c.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	if c.opt.Log != nil {
		cmd.Stdout, cmd.Stderr = c.opt.Log, c.opt.Log
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgtemp: postgres: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	c.mu.Lock()
	c.cmd, c.done = cmd, done
	c.mu.Unlock()

	deadline := time.Now().Add(60 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-done:
			log, _ := os.ReadFile(c.LogPath())
			return fmt.Errorf("pgtemp: postgres exited on start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			log, _ := os.ReadFile(c.LogPath())
			return fmt.Errorf("pgtemp: postgres did not accept connections: %v\n%s", err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// URL is the connection URL of database db over the unix socket.
func (c *Cluster) URL(db string) string {
	q := url.Values{"host": {c.Socket}, "port": {strconv.Itoa(c.Port)}, "user": {Superuser}, "sslmode": {"disable"}}
	return "postgres:///" + url.PathEscape(db) + "?" + q.Encode()
}

// TCPURL is the connection URL of database db over loopback TCP ("" without Options.TCP).
func (c *Cluster) TCPURL(db string) string {
	if !c.opt.TCP {
		return ""
	}
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", Superuser, c.Port, url.PathEscape(db))
}

// CreateDB creates an empty database and returns its URL (over the unix socket).
func (c *Cluster) CreateDB(ctx context.Context, name string) (string, error) {
	if !validName(name) {
		return "", fmt.Errorf("pgtemp: database name %q: letters, digits and _ only", name)
	}
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("pgtemp: create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

func validName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// Crash stops the server the hard way (SIGQUIT: immediate shutdown, as a power cut or an OOM
// kill would): every connection breaks. Restart brings it back on the same data.
func (c *Cluster) Crash() {
	c.signal(syscall.SIGQUIT)
}

// Restart starts the server again after Crash (or Stop of the process only).
func (c *Cluster) Restart(ctx context.Context) error {
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	if done != nil {
		<-done
	}
	return c.start(ctx)
}

func (c *Cluster) signal(sig syscall.Signal) {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Stop shuts the server down (fast shutdown) and removes the directory.
func (c *Cluster) Stop() {
	c.signal(syscall.SIGINT)
	if c.Dir != "" {
		_ = os.RemoveAll(c.Dir)
	}
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Ident turns a test or node name into a database name: lower-case letters, digits and _.
func Ident(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 40 {
		out = out[len(out)-40:]
	}
	return out
}
