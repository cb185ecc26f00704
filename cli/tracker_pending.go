package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/spec-kitty/spec-kitty-sync/core/hosted"
	"github.com/spec-kitty/spec-kitty-sync/core/paths"
)

// pendingTTL is how long a record's key is reused: a retry a day later is a
// new operation, not a retry (hosts keep idempotency keys about that long).
const pendingTTL = 24 * time.Hour

// pendingOp is the record of one logical host operation that has not been
// seen to finish: its Idempotency-Key, and what identifies the operation, so
// running the same command again sends the same key and the host runs the
// operation once. The file name is a hash of Kind, Host, Repo and Request.
type pendingOp struct {
	Kind           string          `json:"kind"` // "pull", "push", "run", "publish", "bind-confirm"
	Host           string          `json:"host"`
	Repo           string          `json:"repo"`
	Request        json.RawMessage `json:"request"`
	IdempotencyKey string          `json:"idempotency_key"`
	CreatedAt      time.Time       `json:"created_at"`

	path string
}

// pendingStore keeps pendingOp records as one file each under dir, so
// different operations never contend for one file and two invocations of
// the same operation agree on one key (the first record written wins).
type pendingStore struct {
	home paths.Home
	now  func() time.Time
	warn io.Writer
}

func newPendingStore(env *Env) (*pendingStore, error) {
	home, err := env.Home()
	if err != nil {
		return nil, failf("%s", err)
	}
	return &pendingStore{home: home, now: env.Now, warn: env.Stderr}, nil
}

func (s *pendingStore) dir() string { return s.home.TrackerPending() }

// acquire returns the record of the operation (kind, host, repo, request),
// creating it with a fresh key when there is none or the one there is older
// than pendingTTL or unreadable.
func (s *pendingStore) acquire(kind, host, repo string, request any) (*pendingOp, error) {
	req, err := json.Marshal(request)
	if err != nil {
		return nil, fmt.Errorf("pending operation %s: %w", kind, err)
	}
	sum := sha256.Sum256([]byte(kind + "\x00" + host + "\x00" + repo + "\x00" + string(req)))
	path := filepath.Join(s.dir(), hex.EncodeToString(sum[:16])+".json")
	if err := s.home.EnsureDir(s.dir()); err != nil {
		return nil, failf("%s", err)
	}
	for range 3 {
		op, err := s.read(path)
		switch {
		case err == nil && s.now().Sub(op.CreatedAt) < pendingTTL && op.Kind == kind && op.Repo == repo:
			return op, nil
		case err == nil:
			// Expired (or a hash collision): start a new operation.
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, failf("remove %s: %s", path, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(s.warn, "spec-kitty: warning: replacing unreadable pending-operation record: %s\n", err)
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, failf("remove %s: %s", path, err)
			}
		}
		op = &pendingOp{Kind: kind, Host: host, Repo: repo, Request: req,
			IdempotencyKey: hosted.NewIdempotencyKey(), CreatedAt: s.now().UTC(), path: path}
		created, err := s.create(op)
		if err != nil {
			return nil, err
		}
		if created {
			return op, nil
		}
		// Another invocation of the same operation wrote its record first:
		// use that one.
	}
	return nil, failf("pending-operation record %s keeps changing; try again", path)
}

// create writes op's record unless one exists; it reports whether it wrote.
// The record is written to a temporary file and linked into place, so a
// reader never sees half a record and two writers cannot both win.
func (s *pendingStore) create(op *pendingOp) (bool, error) {
	data, err := json.MarshalIndent(op, "", "  ")
	if err != nil {
		return false, fmt.Errorf("pending operation %s: %w", op.Kind, err)
	}
	tmp, err := os.CreateTemp(s.dir(), ".pending-*")
	if err != nil {
		return false, failf("write pending-operation record: %s", err)
	}
	defer os.Remove(tmp.Name())
	_, werr := tmp.Write(append(data, '\n'))
	if werr == nil {
		werr = tmp.Sync()
	}
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return false, failf("write pending-operation record %s: %s", tmp.Name(), werr)
	}
	if err := os.Link(tmp.Name(), op.path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, failf("write pending-operation record %s: %s", op.path, err)
	}
	return true, nil
}

func (s *pendingStore) read(path string) (*pendingOp, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var op pendingOp
	if err := json.Unmarshal(b, &op); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if op.IdempotencyKey == "" {
		return nil, fmt.Errorf("%s: no idempotency_key", path)
	}
	op.path = path
	return &op, nil
}

// done removes the record: the host gave a final answer, so the next
// invocation is a new operation.
func (s *pendingStore) done(op *pendingOp) {
	if op == nil {
		return
	}
	if err := os.Remove(op.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(s.warn, "spec-kitty: warning: remove pending-operation record: %s\n", err)
	}
}

// clear removes every record of kind for host and repo: a bind that ended
// another way (the host already knew the binding) leaves no key behind.
func (s *pendingStore) clear(kind, host, repo string) {
	entries, err := os.ReadDir(s.dir())
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".json" {
			continue
		}
		op, err := s.read(filepath.Join(s.dir(), e.Name()))
		if err == nil && op.Kind == kind && op.Host == host && op.Repo == repo {
			s.done(op)
		}
	}
}

// settle removes the record after err when err shows the host did not and
// will not run the operation (a permanent refusal: retrying the same request
// fails the same way); after a transport failure, a timeout, an interrupt or
// a session problem the record stays so a retry reuses the key.
func (s *pendingStore) settle(op *pendingOp, err error) {
	if err == nil {
		s.done(op)
		return
	}
	if k := hosted.KindOf(err); k == hosted.KindPermanent || k == hosted.KindConfig {
		s.done(op)
	}
}
