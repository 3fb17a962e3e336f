// Package ratelimit is an in-process, keyed token-bucket limiter. Services
// use it to throttle requests per identity and per client IP; transports
// answer a refusal with 429 and Retry-After.
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

type bucket struct {
	tokens float64
	at     time.Time // when tokens was computed
	rule   Rule
}

// Limiter holds one bucket per key. It is safe for concurrent use.
type Limiter struct {
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*bucket
	created int
}

// New returns a limiter that reads the time from now.
func New(now func() time.Time) *Limiter {
	return &Limiter{now: now, buckets: map[string]*bucket{}}
}

// Allow takes one token from key's bucket under rule. It returns nil, or an
// *Exceeded error saying how long until a token is available.
func (l *Limiter) Allow(key string, rule Rule) error {
	if rule.off() {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok || b.rule != rule {
		l.created++
		if l.created%sweepEvery == 0 {
			l.sweep(now) // before the insert: a new bucket is full too
		}
		b = &bucket{tokens: float64(rule.Burst), at: now, rule: rule}
		l.buckets[key] = b
	}
	b.refill(now)
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := time.Duration((1 - b.tokens) * float64(rule.interval()))
	return &Exceeded{RetryAfter: wait}
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
	b.refill(now)
	b.tokens = math.Min(float64(rule.Burst), b.tokens+1)
}

func (b *bucket) refill(now time.Time) {
	if elapsed := now.Sub(b.at); elapsed > 0 {
		b.tokens = math.Min(float64(b.rule.Burst), b.tokens+float64(elapsed)/float64(b.rule.interval()))
		b.at = now
	}
}

// sweep drops buckets that have refilled completely: they behave exactly
// like absent ones.
func (l *Limiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		b.refill(now)
		if b.tokens >= float64(b.rule.Burst) {
			delete(l.buckets, k)
		}
	}
}

// Len returns the number of buckets held (for tests and metrics).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
