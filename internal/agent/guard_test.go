package agent

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/edgeinfra/edgeinfra/metrics"
)

func TestRetryAfter(t *testing.T) {
	lim := rate.NewLimiter(10, 2)
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at   time.Duration
		want time.Duration
	}{
		{0, 0}, {0, 0}, // the burst
		{0, 100 * time.Millisecond}, // refused: the next token is 100ms away
		{50 * time.Millisecond, 50 * time.Millisecond},
		{100 * time.Millisecond, 0}, // a refusal takes no token
		{100 * time.Millisecond, 100 * time.Millisecond},
		{time.Second, 0}, {time.Second, 0}, // refilled to the burst, not more
		{time.Second, 100 * time.Millisecond},
	}
	for i, s := range steps {
		if got := retryAfter(lim, t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d at +%v: retryAfter = %v, want %v", i, s.at, got, s.want)
		}
	}
	if retryAfter(nil, t0) != 0 {
		t.Fatal("no limiter refused")
	}
}

func TestNewLimiter(t *testing.T) {
	tests := []struct {
		rate      float64
		burst     int
		wantLimit rate.Limit
		wantBurst int
	}{
		{0, 0, defaultAPIRate, defaultAPIRate},
		{2.5, 0, 2.5, 3},
		{0.1, 0, 0.1, 1},
		{10, 50, 10, 50},
	}
	for _, tt := range tests {
		lim := newLimiter(Config{APIRate: tt.rate, APIBurst: tt.burst})
		if lim.Limit() != tt.wantLimit || lim.Burst() != tt.wantBurst {
			t.Errorf("newLimiter(%v, %d) = %v/%d, want %v/%d", tt.rate, tt.burst, lim.Limit(), lim.Burst(), tt.wantLimit, tt.wantBurst)
		}
	}
	if newLimiter(Config{APIRate: -1}) != nil {
		t.Error("a negative rate is not unlimited")
	}
}

// TestLocalAPIGuard: writes need the token and are rate limited with 429
// and Retry-After; a refused write is not recorded; reads pass.
func TestLocalAPIGuard(t *testing.T) {
	a := startAgent(t, Config{HubURL: "nats://127.0.0.1:1", ID: "n1", APIToken: "tok", APIRate: 0.5, APIBurst: 2})
	base := "http://" + a.HTTPAddr()
	post := func(auth string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/v1/invocations", strings.NewReader(`{"function_id":"f","duration_ms":1,"success":true}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post(""); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("write without token = %d %v", resp.StatusCode, resp.Header)
	}
	if resp := post("Bearer wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("write with a wrong token = %d", resp.StatusCode)
	}
	for i := range 2 {
		if resp := post("Bearer tok"); resp.StatusCode != http.StatusAccepted {
			t.Fatalf("write %d within the burst = %d", i, resp.StatusCode)
		}
	}
	resp := post("Bearer tok")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("write past the burst = %d, want 429", resp.StatusCode)
	}
	if ra := resp.Header.Get("Retry-After"); ra != "2" {
		// 0.5 writes per second: the next token is 2s away.
		t.Fatalf("Retry-After = %q, want 2", ra)
	}
	if code := do(t, "GET", base+"/v1/metrics", "", nil); code != 200 {
		t.Fatalf("GET /v1/metrics = %d", code)
	}
	if got := a.Metrics().TotalInvocations(metrics.Filter{}); got != 2 {
		t.Fatalf("recorded %d invocations, want the 2 accepted", got)
	}
	var hz struct {
		Limited uint64 `json:"writes_rate_limited"`
	}
	do(t, "GET", base+"/healthz", "", &hz)
	if hz.Limited != 1 {
		t.Fatalf("writes_rate_limited = %d, want 1", hz.Limited)
	}
}

func TestFunctionQuota(t *testing.T) {
	q := newFunctionQuota(2)
	for _, tt := range []struct {
		fn   string
		want bool
	}{{"a", true}, {"b", true}, {"a", true}, {"c", false}, {"b", true}, {"c", false}} {
		if got := q.admit(tt.fn); got != tt.want {
			t.Errorf("admit(%q) = %v, want %v", tt.fn, got, tt.want)
		}
	}
	if !newFunctionQuota(-1).admit("anything") || newFunctionQuota(0).max != defaultMaxFunctions {
		t.Error("limits: negative is not unlimited or zero is not the default")
	}

	a := startAgent(t, Config{HubURL: "nats://127.0.0.1:1", ID: "n1", MaxFunctions: 2})
	post := func(fn string) (int, string) {
		resp, err := http.Post("http://"+a.HTTPAddr()+"/v1/invocations", "application/json", strings.NewReader(`{"function_id":"`+fn+`","duration_ms":1,"success":true}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e struct{ Error struct{ Code string } }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Error.Code
	}
	for _, fn := range []string{"f1", "f2", "f1"} {
		if code, _ := post(fn); code != http.StatusAccepted {
			t.Fatalf("POST %s = %d", fn, code)
		}
	}
	if code, errCode := post("f3"); code != http.StatusBadRequest || errCode != "too_many_functions" {
		t.Fatalf("POST of a third function = %d %s, want 400 too_many_functions", code, errCode)
	}
	if n := a.Metrics().TotalInvocations(metrics.Filter{FunctionID: "f3"}); n != 0 {
		t.Fatalf("a refused invocation was recorded: %d", n)
	}
}

// TestStateBounded: PUT /v1/state refuses a change that would make the
// whole state too large to ship in one message, and keeps the state.
func TestStateBounded(t *testing.T) {
	a := startAgent(t, Config{HubURL: "nats://127.0.0.1:1", ID: "n1"})
	put := func(body string) int {
		req, _ := http.NewRequest("PUT", "http://"+a.HTTPAddr()+"/v1/state", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	big := strings.Repeat("x", 600_000)
	if code := put(`{"a":"` + big + `"}`); code != 200 {
		t.Fatalf("first PUT = %d", code)
	}
	if code := put(`{"b":"` + big + `"}`); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT that would outgrow one message = %d, want 413", code)
	}
	if code := put(`{"a":"small","b":"` + big + `"}`); code != 200 {
		t.Fatalf("PUT that replaces the large value = %d, want 200", code)
	}
	if st := a.State(); st.Version != 2 || st.Data["a"] != "small" {
		t.Fatalf("state after the refusal: version %d, a=%.10v", st.Version, st.Data["a"])
	}
	keys := func(prefix string, n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"` + prefix + strconv.Itoa(i) + `":1`)
		}
		b.WriteString("}")
		return b.String()
	}
	if code := put(keys("x", 6000)); code != 200 {
		t.Fatalf("PUT of 6000 keys = %d", code)
	}
	if code := put(keys("y", 6000)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("PUT that would make 12002 keys = %d, want 413", code)
	}
}
