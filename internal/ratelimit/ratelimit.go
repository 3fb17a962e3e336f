// Package ratelimit is an in-process, keyed token-bucket limiter. Services
// use it to throttle requests per identity and per client IP; transports
// answer a refusal with 429 and Retry-After. Its Rule and Result are also
// the terms of the shared bucket stores in the packages below it
// (ratelimit/redis), which the REST transport reaches through an
// interface of its own.
//
// ratelimit is a leaf package: it imports no Basalt package.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rule allows Burst requests at once and refills the bucket at Burst
// requests per Per (one token every Per/Burst). A zero Rule allows
// everything.
type Rule struct {
	Burst int
	Per   time.Duration
}

func (r Rule) off() bool { return r.Burst <= 0 || r.Per <= 0 }

// String formats r as ParseRule reads it: "30/1m", "5/1h30m", or "off".
func (r Rule) String() string {
	if r.off() {
		return "off"
	}
	d := r.Per.String()
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	return strconv.Itoa(r.Burst) + "/" + d
}

// ParseRule reads a rule written "BURST/PER", e.g. "30/1m" (30 requests at
// once, refilled at 30 a minute), or "off" (also "0"): no limit.
func ParseRule(s string) (Rule, error) {
	s = strings.TrimSpace(s)
	if s == "off" || s == "0" {
		return Rule{}, nil
	}
	burst, per, ok := strings.Cut(s, "/")
	if !ok {
		return Rule{}, fmt.Errorf("rate limit %q: want BURST/DURATION (e.g. 30/1m) or off", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(burst))
	if err != nil || n < 0 {
		return Rule{}, fmt.Errorf("rate limit %q: the count must be a whole number", s)
	}
	d, err := time.ParseDuration(strings.TrimSpace(per))
	if err != nil || d < 0 {
		return Rule{}, fmt.Errorf("rate limit %q: the period must be a duration such as 10s, 1m or 1h", s)
	}
	r := Rule{Burst: n, Per: d}
	if r.off() {
		return Rule{}, nil
	}
	if r.interval() == 0 {
		return Rule{}, errors.New("rate limit " + strconv.Quote(s) + ": the period is too short for the count")
	}
	return r, nil
}

// Set parses s into r (ParseRule), so that a Rule can be a command-line
// flag (flag.Value).
func (r *Rule) Set(s string) error {
	parsed, err := ParseRule(s)
	if err != nil {
		return err
	}
	*r = parsed
	return nil
}

// interval is the time it takes to refill one token.
func (r Rule) interval() time.Duration { return r.Per / time.Duration(r.Burst) }

// Exceeded is the error of a refused request. Transports read RetryAfter to
// tell the client when to try again.
type Exceeded struct {
	RetryAfter time.Duration
}

func (e *Exceeded) Error() string {
	return fmt.Sprintf("rate limit exceeded, retry after %s", e.RetryAfter)
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds (at least 1),
// the form of the Retry-After header.
func (e *Exceeded) RetryAfterSeconds() int {
	return max(1, int(math.Ceil(e.RetryAfter.Seconds())))
}

// sweepEvery is how many new buckets are created between two sweeps of
// idle buckets, which keeps memory bounded by the number of active keys.
const sweepEvery = 1024

// DefaultMaxBuckets bounds the buckets a Limiter holds (about 200 bytes
// each) when the keys active at once outnumber what sweeps can drop, e.g.
// a flood from many addresses.
const DefaultMaxBuckets = 100_000

// bucket is a token bucket kept as the time at which it will be full again
// (the "theoretical arrival time" of the generic cell rate algorithm):
// integer arithmetic, so no rounding drift, and one field to update.
type bucket struct {
	full time.Time
	rule Rule
}

// debt is how much refill time the bucket lacks at now (0 when full).
func (b *bucket) debt(now time.Time) time.Duration {
	return max(0, b.full.Sub(now))
}

// Limiter holds one bucket per key. It is safe for concurrent use.
type Limiter struct {
	now        func() time.Time
	mu         sync.Mutex
	buckets    map[string]*bucket
	created    int
	maxBuckets int
}

// New returns a limiter that reads the time from now and holds at most
// DefaultMaxBuckets buckets.
func New(now func() time.Time) *Limiter {
	return NewBounded(now, DefaultMaxBuckets)
}

// NewBounded returns a limiter that holds at most maxBuckets buckets. Past
// that, a sweep drops the idle (full) buckets and then, if the limiter is
// still full, arbitrary ones: their keys start again with a full bucket,
// which errs on the side of letting requests through.
func NewBounded(now func() time.Time, maxBuckets int) *Limiter {
	return &Limiter{now: now, buckets: map[string]*bucket{}, maxBuckets: max(1, maxBuckets)}
}

// Result is the outcome of taking a token, with what the RateLimit
// response headers report.
type Result struct {
	// Allowed says whether a token was taken.
	Allowed bool
	// Remaining is the number of whole tokens left in the bucket.
	Remaining int
	// Reset is the time until the bucket gains its next whole token: for
	// a refused request, how long to wait before trying again. It is 0 for
	// a full bucket.
	Reset time.Duration
}

// Allow takes one token from key's bucket under rule. It returns nil, or an
// *Exceeded error saying how long until a token is available.
func (l *Limiter) Allow(key string, rule Rule) error {
	if res := l.Take(key, rule); !res.Allowed {
		return &Exceeded{RetryAfter: res.Reset}
	}
	return nil
}

// Take takes one token from key's bucket under rule and reports what is
// left. A zero rule allows everything and reports nothing left to count.
func (l *Limiter) Take(key string, rule Rule) Result {
	if rule.off() {
		return Result{Allowed: true}
	}
	every := rule.interval()
	if every <= 0 {
		return Result{Allowed: true, Remaining: rule.Burst} // too fast to count
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok || b.rule != rule {
		if !ok {
			l.created++
			if l.created%sweepEvery == 0 || len(l.buckets) >= l.maxBuckets {
				l.sweep(now) // before the insert: a new bucket is full too
			}
		}
		b = &bucket{full: now, rule: rule}
		l.buckets[key] = b
	}
	capacity := every * time.Duration(rule.Burst)
	debt := b.debt(now)
	if debt+every > capacity {
		return Result{Remaining: rule.Burst - ceilDiv(debt, every), Reset: debt + every - capacity}
	}
	debt += every
	b.full = now.Add(debt)
	return Result{Allowed: true, Remaining: rule.Burst - ceilDiv(debt, every), Reset: nextToken(debt, every)}
}

// ceilDiv is ⌈a/b⌉ for a ≥ 0, b > 0.
func ceilDiv(a, b time.Duration) int { return int((a + b - 1) / b) }

// nextToken is the time until a bucket that lacks debt of refill gains a
// whole token: 0 when it is full.
func nextToken(debt, every time.Duration) time.Duration {
	if debt <= 0 {
		return 0
	}
	if r := debt % every; r > 0 {
		return r
	}
	return every
}

// Refund gives back a token that Allow took from key's bucket under rule,
// for requests that should not count (a sign-in whose password was right,
// so that only failures are limited). A bucket never holds more than
// rule.Burst tokens.
func (l *Limiter) Refund(key string, rule Rule) {
	if rule.off() {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok || b.rule != rule {
		return // swept, hence full, or replaced by a new rule
	}
	b.full = now.Add(max(0, b.debt(now)-rule.interval()))
}

// sweep drops buckets that have refilled completely: they behave exactly
// like absent ones. When the limiter is still at its bound, it drops
// arbitrary buckets (map order) down to nine tenths of it.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.debt(now) == 0 {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.maxBuckets {
		return
	}
	keep := l.maxBuckets * 9 / 10
	for k := range l.buckets {
		if len(l.buckets) <= keep {
			break
		}
		delete(l.buckets, k)
	}
}

// Len returns the number of buckets held (for tests and metrics).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
