package rest

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/ratelimit"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/settings"
)

// RateLimiter keeps the token buckets of the rateLimits settings. Take
// takes one token from key's bucket under rule; an error means the buckets
// could not be reached, and the request goes through (fail open).
//
// The in-process *ratelimit.Limiter is used when Deps.RateLimiter is nil;
// internal/ratelimit/redis shares the buckets between replicas.
type RateLimiter interface {
	Take(ctx context.Context, key string, rule ratelimit.Rule) (ratelimit.Result, error)
}

// localLimiter adapts the in-process limiter to RateLimiter.
type localLimiter struct{ l *ratelimit.Limiter }

func (l localLimiter) Take(_ context.Context, key string, rule ratelimit.Rule) (ratelimit.Result, error) {
	return l.l.Take(key, rule), nil
}

// limitWarnEvery spaces the warnings of an unreachable limiter store, which
// would otherwise come with every request.
const limitWarnEvery = 10 * time.Second

// rateLimits applies the rateLimits settings to requests.
type rateLimits struct {
	store    RateLimiter
	routes   map[string]routeLimit // routeLimitTable
	logger   *slog.Logger
	lastWarn atomic.Int64 // unix nanoseconds of the last store warning
}

// routeLimit says how a route's requests are labelled, as in PocketBase:
// routes about a collection also match "<collection>:<tag>" and "*:<tag>"
// labels, before the method-and-path and path labels every route has.
type routeLimit struct {
	tags []string
	// alone: the collection check replaces the path check instead of
	// following it (PocketBase binds these routes' limit in place of the
	// global one; record CRUD checks both).
	alone bool
}

// routeLimitTable maps ServeMux patterns to their PocketBase tags.
func routeLimitTable() map[string]routeLimit {
	return map[string]routeLimit{
		"GET /api/collections/{collection}/records":                 {tags: []string{"list"}},
		"POST /api/collections/{collection}/records":                {tags: []string{"create"}},
		"GET /api/collections/{collection}/records/{id}":            {tags: []string{"view"}},
		"PATCH /api/collections/{collection}/records/{id}":          {tags: []string{"update"}},
		"DELETE /api/collections/{collection}/records/{id}":         {tags: []string{"delete"}},
		"GET /api/collections/{collection}/auth-methods":            {tags: []string{"listAuthMethods"}, alone: true},
		"POST /api/collections/{collection}/auth-refresh":           {tags: []string{"authRefresh"}, alone: true},
		"POST /api/collections/{collection}/auth-with-password":     {tags: []string{"authWithPassword", "auth"}, alone: true},
		"POST /api/collections/{collection}/auth-with-oauth2":       {tags: []string{"authWithOAuth2", "auth"}, alone: true},
		"POST /api/collections/{collection}/request-otp":            {tags: []string{"requestOTP"}, alone: true},
		"POST /api/collections/{collection}/auth-with-otp":          {tags: []string{"authWithOTP", "auth"}, alone: true},
		"POST /api/collections/{collection}/request-password-reset": {tags: []string{"requestPasswordReset"}, alone: true},
		"POST /api/collections/{collection}/confirm-password-reset": {tags: []string{"confirmPasswordReset"}, alone: true},
		"POST /api/collections/{collection}/request-verification":   {tags: []string{"requestVerification"}, alone: true},
		"POST /api/collections/{collection}/confirm-verification":   {tags: []string{"confirmVerification"}, alone: true},
		"POST /api/collections/{collection}/request-email-change":   {tags: []string{"requestEmailChange"}, alone: true},
		"POST /api/collections/{collection}/confirm-email-change":   {tags: []string{"confirmEmailChange"}, alone: true},
		"GET /api/files/{collection}/{record}/{filename}":           {tags: []string{"file"}, alone: true},
		"HEAD /api/files/{collection}/{record}/{filename}":          {tags: []string{"file"}, alone: true},
	}
}

// limitCheck is one rule applied to a request and the bucket it draws on.
type limitCheck struct {
	rule settings.RateLimitRule
	key  string
}

// applied is a rule checked for a request, for the RateLimit headers.
type applied struct {
	rule settings.RateLimitRule
	res  ratelimit.Result
}

// limitedMux is the ServeMux of the routes with the rateLimits settings
// enforced in front of it: the matched pattern selects the route's labels.
type limitedMux struct {
	*http.ServeMux
	s *server
}

// limitedMux sets up rate limiting and returns the mux to register the
// routes on.
func (s *server) limitedMux() limitedMux {
	s.limits = &rateLimits{store: s.RateLimiter, logger: s.Logger, routes: routeLimitTable()}
	if s.limits.store == nil {
		s.limits.store = localLimiter{ratelimit.New(time.Now)}
	}
	return limitedMux{http.NewServeMux(), s}
}

// ServeHTTP applies the rate limits, then routes. Disabled settings cost
// one settings read per request (shared, not copied: it is only read).
func (m limitedMux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s, mux := m.s, m.ServeMux
	cfg := s.Settings.Current()
	if !cfg.RateLimits.Enabled {
		mux.ServeHTTP(w, r)
		return
	}
	id := identityOf(r)
	if id != nil && id.record.Collection.ID == schema.SuperusersID {
		mux.ServeHTTP(w, r)
		return
	}
	ip := clientIP(r, cfg.TrustedProxy.Headers, cfg.TrustedProxy.UseLeftmostIP)
	if ip == "" || ipListed(cfg.RateLimits.ExcludedIPs, ip) {
		mux.ServeHTTP(w, r)
		return
	}
	_, pattern := mux.Handler(r)
	var done []applied
	for _, c := range s.limitChecks(r, pattern, cfg.RateLimits.Rules, id != nil) {
		res, err := s.limits.store.Take(r.Context(), bucketKey(c, ip), ruleOf(c.rule))
		if err != nil {
			s.limits.unreachable(r.Context(), err)
			continue
		}
		done = append(done, applied{c.rule, res})
		if !res.Allowed {
			setRateLimitHeaders(w.Header(), done)
			// observe labels the rejection with its route though the
			// mux never sees the request.
			r.Pattern = pattern
			s.fail(w, r, apperr.Wrap(apperr.TooManyRequests, "", &ratelimit.Exceeded{RetryAfter: res.Reset}))
			return
		}
	}
	setRateLimitHeaders(w.Header(), done)
	mux.ServeHTTP(w, r)
}

// limitChecks lists the rules that apply to r, in the order PocketBase
// checks them: the path rule, then the collection rule (or the collection
// rule alone on auth and file routes).
func (s *server) limitChecks(r *http.Request, pattern string, rules []settings.RateLimitRule, authed bool) []limitCheck {
	audiences := [2]string{settings.AudienceAll, settings.AudienceGuest}
	if authed {
		audiences[1] = settings.AudienceAuth
	}
	pathLabels := []string{r.Method + " " + r.URL.Path, r.URL.Path}
	route, tagged := s.limits.routes[pattern]
	var coll *schema.Collection
	if tagged {
		coll = s.Collections.Lookup(pathSegment(r.URL.Path, 3))
	}
	var checks []limitCheck
	if coll == nil || !route.alone {
		if rule, ok := findRateLimitRule(rules, pathLabels, audiences); ok {
			checks = append(checks, limitCheck{rule, "path\x00" + rule.Label + rule.Audience})
		}
	}
	if coll != nil {
		labels := make([]string, 0, 2*len(route.tags)+2)
		for _, tag := range route.tags {
			labels = append(labels, coll.Name+":"+tag)
		}
		for _, tag := range route.tags {
			labels = append(labels, "*:"+tag)
		}
		labels = append(labels, pathLabels...)
		if rule, ok := findRateLimitRule(rules, labels, audiences); ok {
			// As PocketBase: one bucket per collection and route, whichever
			// rule matched.
			checks = append(checks, limitCheck{rule, "coll\x00" + coll.ID + "\x00" + pattern + "\x00" + rule.Audience})
		}
	}
	return checks
}

// findRateLimitRule returns the rule for the first of labels that one
// matches, among the rules whose audience is in audiences. A label matches
// a rule of the same label, or one ending in "/" that prefixes it (the
// longest such prefix wins).
func findRateLimitRule(rules []settings.RateLimitRule, labels []string, audiences [2]string) (settings.RateLimitRule, bool) {
	for _, label := range labels {
		best := -1
		for i, rule := range rules {
			if rule.Audience != audiences[0] && rule.Audience != audiences[1] {
				continue
			}
			if rule.Label == label {
				return rule, true
			}
			if strings.HasSuffix(rule.Label, "/") && strings.HasPrefix(label+"/", rule.Label) &&
				(best < 0 || len(rule.Label) > len(rules[best].Label)) {
				best = i
			}
		}
		if best >= 0 {
			return rules[best], true
		}
	}
	return settings.RateLimitRule{}, false
}

// ruleOf is the token bucket of a settings rule: MaxRequests at once,
// refilled at MaxRequests per Duration seconds.
func ruleOf(r settings.RateLimitRule) ratelimit.Rule {
	return ratelimit.Rule{Burst: r.MaxRequests, Per: time.Duration(r.Duration) * time.Second}
}

// bucketKey names the bucket of a check for one client IP. The rule's
// numbers are part of it so that an edited rule starts with fresh buckets
// in a shared store too.
func bucketKey(c limitCheck, ip string) string {
	return c.key + "\x00" + strconv.Itoa(c.rule.MaxRequests) + "/" + strconv.FormatInt(c.rule.Duration, 10) + "\x00" + ip
}

// pathSegment returns the i-th "/"-separated segment of path ("" if none).
func pathSegment(path string, i int) string {
	for range i {
		_, rest, ok := strings.Cut(path, "/")
		if !ok {
			return ""
		}
		path = rest
	}
	seg, _, _ := strings.Cut(path, "/")
	return seg
}

// ipListed reports whether ip is one of list's IPs or in one of its CIDR
// ranges.
func ipListed(list []string, ip string) bool {
	if len(list) == 0 {
		return false
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	addr = addr.Unmap()
	for _, entry := range list {
		if p, err := netip.ParsePrefix(entry); err == nil {
			if p.Contains(addr) {
				return true
			}
		} else if a, err := netip.ParseAddr(entry); err == nil && a.Unmap() == addr {
			return true
		}
	}
	return false
}

// setRateLimitHeaders reports the checked rules in the RateLimit-Policy and
// RateLimit fields of draft-ietf-httpapi-ratelimit-headers-11: one quota
// policy item per rule, named by its label and audience, with its quota
// (q) and window (w), and the service limit with the requests left (r) and
// the seconds until the next one is available (t).
func setRateLimitHeaders(h http.Header, done []applied) {
	if len(done) == 0 {
		return
	}
	policies := make([]string, len(done))
	limits := make([]string, len(done))
	for i, a := range done {
		name := sfString(strings.TrimSpace(a.rule.Label + " " + a.rule.Audience))
		policies[i] = name + ";q=" + strconv.Itoa(a.rule.MaxRequests) + ";w=" + strconv.FormatInt(a.rule.Duration, 10)
		limits[i] = name + ";r=" + strconv.Itoa(max(0, a.res.Remaining)) + ";t=" + strconv.Itoa(ceilSeconds(a.res.Reset, !a.res.Allowed))
	}
	h.Set("RateLimit-Policy", strings.Join(policies, ", "))
	h.Set("RateLimit", strings.Join(limits, ", "))
}

// ceilSeconds rounds d up to whole seconds; a refusal says at least 1, as
// Retry-After does, so that t never ends before Retry-After.
func ceilSeconds(d time.Duration, refused bool) int {
	s := int(math.Ceil(d.Seconds()))
	if refused {
		s = max(1, s)
	}
	return max(0, s)
}

// sfString encodes s as a Structured Field String (RFC 9651): quoted, with
// '"' and '\' escaped and anything outside printable ASCII dropped.
func sfString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c <= 0x7e:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// unreachable logs, at most every limitWarnEvery, that the bucket store
// failed and requests go through unlimited.
func (l *rateLimits) unreachable(ctx context.Context, err error) {
	now := time.Now().UnixNano()
	last := l.lastWarn.Load()
	if now-last < int64(limitWarnEvery) || !l.lastWarn.CompareAndSwap(last, now) {
		return
	}
	if l.logger != nil {
		l.logger.WarnContext(ctx, "rate limits not enforced: the rate limit store is unreachable", "err", err)
	}
}
