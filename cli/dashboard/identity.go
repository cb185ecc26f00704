package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// A dashboard proves who it is with the secret of its record (a private
// file under the state home, see RecordPath): a client sends a fresh random
// challenge and only the process holding the secret can answer with its
// HMAC. Whatever else listens on the port — a leftover, another user's
// process — cannot, and the secret itself never crosses the socket.
// Stopping works the same way: POST StopPath with a proof of the secret;
// no PID read from anywhere is ever signalled.

// Identity headers.
const (
	ChallengeHeader = "X-Dashboard-Challenge"
	ProofHeader     = "X-Dashboard-Proof"
)

// StopPath asks the dashboard to shut down; it needs a proof of the secret.
const StopPath = "/api/stop"

// NewSecret returns a fresh random secret, hex-encoded.
func NewSecret(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 32)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// proof is the answer to challenge for purpose ("health" or "stop").
func proof(secret, purpose, challenge string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(purpose + "\x00" + challenge))
	return hex.EncodeToString(m.Sum(nil))
}

func validProof(secret, purpose, challenge, got string) bool {
	if secret == "" || len(challenge) < 32 || len(challenge) > 128 {
		return false
	}
	return hmac.Equal([]byte(proof(secret, purpose, challenge)), []byte(got))
}

func newChallenge() string {
	s, err := NewSecret(nil)
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return s
}

// loopback is an HTTP client that dials only 127.0.0.1:port, without proxy.
func loopback(port int) (*http.Client, string) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
		DisableKeepAlives: true,
	}
	return &http.Client{Transport: tr}, "http://" + addr
}

// Probe asks the dashboard on 127.0.0.1:port who it is, within 2 s, with a
// fresh challenge, and checks the answer proves secret. It never uses a
// proxy and never dials anything but that loopback address.
func Probe(ctx context.Context, port int, secret string) (Health, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, base := loopback(port)
	defer c.CloseIdleConnections()
	challenge := newChallenge()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+HealthPath, nil)
	if err != nil {
		return Health{}, err
	}
	req.Header.Set(ChallengeHeader, challenge)
	resp, err := c.Do(req)
	if err != nil {
		return Health{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Health{}, fmt.Errorf("%s: %s", HealthPath, resp.Status)
	}
	var h Health
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<10)).Decode(&h); err != nil {
		return Health{}, fmt.Errorf("%s: %w", HealthPath, err)
	}
	if !validProof(secret, "health", challenge, h.Proof) {
		return Health{}, fmt.Errorf("%s: the listener on port %d is not this dashboard", HealthPath, port)
	}
	return h, nil
}

// Stop asks the dashboard of rec to shut down, proving the record's secret.
func Stop(ctx context.Context, rec Record) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, base := loopback(rec.Port)
	defer c.CloseIdleConnections()
	challenge := newChallenge()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+StopPath, nil)
	if err != nil {
		return err
	}
	req.Header.Set(ChallengeHeader, challenge)
	req.Header.Set(ProofHeader, proof(rec.Secret, "stop", challenge))
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("%s: %s", StopPath, resp.Status)
	}
	return nil
}
