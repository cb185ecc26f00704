package dashboard

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// BenchmarkMissionList serves the missions page for the 412 fixture
// missions after the first load (target: median ≤ 50 ms of server time).
// It reports the median as median-ms besides the mean ns/op.
func BenchmarkMissionList(b *testing.B) {
	benchPage(b, "/")
}

// BenchmarkMissionListJSON is the same list as GET /api/missions.
func BenchmarkMissionListJSON(b *testing.B) {
	benchPage(b, "/api/missions")
}

// BenchmarkMissionKanban serves one mission's board from the warm cache.
func BenchmarkMissionKanban(b *testing.B) {
	benchPage(b, "/missions/expected-artifacts-manifest-repair-01KZY498")
}

func benchPage(b *testing.B, path string) {
	repo := fixtureRepo(b)
	srv, err := New(Config{Repo: repo, Addr: testAddr, Getenv: func(string) string { return "" },
		Launcher: &fakeLauncher{gate: func() bool { return false }}})
	if err != nil {
		b.Fatal(err)
	}
	serve := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Host = testAddr
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
		return w
	}
	serve() // the first load fills the cache
	var times []time.Duration
	b.ReportAllocs()
	for b.Loop() {
		t0 := time.Now()
		serve()
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	if len(times) > 0 {
		b.ReportMetric(float64(times[len(times)/2])/1e6, "median-ms")
	}
}

// BenchmarkMissionListCold is the first load: every mission read from disk.
func BenchmarkMissionListCold(b *testing.B) {
	repo := fixtureRepo(b)
	for b.Loop() {
		srv, err := New(Config{Repo: repo, Addr: testAddr, Getenv: func(string) string { return "" },
			Launcher: &fakeLauncher{gate: func() bool { return false }}})
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Host = testAddr
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d", w.Code)
		}
	}
}
