package agent

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"github.com/edgeinfra/edgeinfra/internal/apiauth"
)

// defaultAPIRate is Config.APIRate's zero value: writes per second.
const defaultAPIRate = 5000

// The local API's guard, for requests that change something (every
// method but GET and HEAD): first the token, if Config.APIToken is set,
// then the rate limit. Reads and /healthz pass freely: they are cheap and
// local, and the cache's reads are an application's hot path.
//
// Over the limit a write is refused whole with 429 Too Many Requests and
// Retry-After (whole seconds, at least 1), before its body is read: the
// caller knows it was not accepted and can retry, and nothing accepted is
// ever dropped.

// newLimiter returns the write limiter of cfg, nil for no limit.
func newLimiter(cfg Config) *rate.Limiter {
	r := cfg.APIRate
	switch {
	case r < 0:
		return nil
	case r == 0:
		r = defaultAPIRate
	}
	burst := cfg.APIBurst
	if burst <= 0 {
		burst = max(int(math.Ceil(r)), 1)
	}
	return rate.NewLimiter(rate.Limit(r), burst)
}

// retryAfter takes one write from lim at now; it returns 0 if the write
// may go ahead, or how long to wait before trying again.
func retryAfter(lim *rate.Limiter, now time.Time) time.Duration {
	if lim == nil {
		return 0
	}
	res := lim.ReserveN(now, 1)
	if !res.OK() {
		return time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d
	}
	return 0
}

func (a *Agent) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if apiauth.Reading(r) || r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		if err := a.token.Check(r); err != nil {
			apiauth.Unauthorized(w, err)
			return
		}
		if d := retryAfter(a.limiter, time.Now()); d > 0 {
			a.rateLimited.Add(1)
			secs := max(int(math.Ceil(d.Seconds())), 1)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			writeError(w, http.StatusTooManyRequests, "rate_limited",
				"over the local API's limit of %g writes per second (burst %d); nothing of this request was accepted, retry in %ds", float64(a.limiter.Limit()), a.limiter.Burst(), secs)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// warnOpenAPI logs a warning when the local API takes writes without a
// token beyond loopback.
func (a *Agent) warnOpenAPI() {
	if a.token.Set() || a.httpLn == nil {
		return
	}
	if addr, ok := a.httpLn.Addr().(*net.TCPAddr); ok && !addr.IP.IsLoopback() {
		a.log.Warn("the local API accepts writes from anyone who can reach it: set --api-token (EDGEINFRA_API_TOKEN)", "http", a.HTTPAddr())
	}
}
