package rest_test

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/ratelimit"
)

const passwordPath = "/api/collections/users/auth-with-password"

// signIn tries a password sign-in to users, from ip when not empty (the
// X-Real-IP header, trusted once trustProxy ran).
func (m *mailEnv) signIn(identity, pass, ip string) *response {
	m.t.Helper()
	var headers map[string]string
	if ip != "" {
		headers = map[string]string{"X-Real-IP": ip}
	}
	return m.do("POST", passwordPath, "", map[string]any{"identity": identity, "password": pass}, headers)
}

// trustProxy makes the server read client IPs from X-Real-IP.
func (m *mailEnv) trustProxy(t *testing.T) {
	t.Helper()
	m.t = t
	m.mustJSON("PATCH", "/api/settings", "superuser", map[string]any{"trustedProxy": map[string]any{"headers": []string{"X-Real-IP"}}}, 200)
}

// want429 checks a throttled answer: PocketBase's error body and a
// Retry-After header between 1 and maxWait seconds.
func want429(t *testing.T, what string, res *response, maxWait int) {
	t.Helper()
	if res.status != http.StatusTooManyRequests {
		t.Errorf("%s: got %d %s, want 429", what, res.status, res.body)
		return
	}
	if n, err := strconv.Atoi(res.header.Get("Retry-After")); err != nil || n < 1 || n > maxWait {
		t.Errorf("%s: Retry-After = %q, want 1..%d seconds", what, res.header.Get("Retry-After"), maxWait)
	}
	if p := matchJSON("$", decode(`{"status":429,"message":"Too Many Requests.","data":{}}`), res.json(t)); len(p) > 0 {
		t.Errorf("%s: %v", what, p)
	}
}

func wantStatus(t *testing.T, what string, res *response, status int) {
	t.Helper()
	if res.status != status {
		t.Errorf("%s: got %d %s, want %d", what, res.status, res.body, status)
	}
}

func TestPasswordLoginThrottlePerIdentity(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, auth.WithThrottle(auth.Throttle{LoginPerIdentity: ratelimit.Rule{Burst: 3, Per: time.Hour}}))
	m.t = t
	// Known and unknown identities get the same answers in the same order,
	// so the limit reveals nothing about which addresses exist.
	for _, identity := range []string{userEmail, "ghost@example.com"} {
		for i := range 3 {
			wantStatus(t, identity+" failure "+strconv.Itoa(i+1), m.signIn(identity, "wrong-password", ""), 400)
		}
		// Case does not make a new identity; the right password is refused
		// too: the limit applies before any password is checked.
		want429(t, identity+" 4th attempt", m.signIn(strings.ToUpper(identity), "wrong-password", ""), 20*60)
		want429(t, identity+" right password once limited", m.signIn(identity, userPass, ""), 20*60)
	}
	m.login("users", user2Email, userPass) // bob is not affected

	// One token comes back every 20 minutes.
	m.clock.advance(20 * time.Minute)
	m.login("users", userEmail, userPass)
	// A success gives its token back, so the next failure is still allowed.
	wantStatus(t, "failure after refill", m.signIn(userEmail, "wrong-password", ""), 400)
	want429(t, "once spent again", m.signIn(userEmail, userPass, ""), 20*60)
}

func TestPasswordLoginThrottleCountsOnlyFailures(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, auth.WithThrottle(auth.Throttle{
		LoginPerIP:       ratelimit.Rule{Burst: 2, Per: time.Hour},
		LoginPerIdentity: ratelimit.Rule{Burst: 2, Per: time.Hour},
	}))
	m.t = t
	for range 5 {
		m.login("users", userEmail, userPass)
	}
	// A sign-in that stops at MFA proved its password: not a failure.
	m.patchCollection(t, "users", map[string]any{"mfa": map[string]any{"enabled": true}, "otp": map[string]any{"enabled": true}})
	for range 3 {
		wantStatus(t, "MFA first step", m.signIn(userEmail, userPass, ""), 401)
	}
	for i := range 2 {
		wantStatus(t, "failure "+strconv.Itoa(i+1), m.signIn(userEmail, "wrong-password", ""), 400)
	}
	want429(t, "3rd failure", m.signIn(userEmail, "wrong-password", ""), 30*60)
}

func TestPasswordLoginThrottlePerIP(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, auth.WithThrottle(auth.Throttle{LoginPerIP: ratelimit.Rule{Burst: 3, Per: time.Hour}}))
	m.trustProxy(t)
	for i := range 3 {
		res := m.signIn("guess"+strconv.Itoa(i)+"@example.com", "wrong-password", "203.0.113.7")
		wantStatus(t, "failure "+strconv.Itoa(i+1), res, 400)
	}
	want429(t, "another identity from the same IP", m.signIn("guess9@example.com", "wrong-password", "203.0.113.7"), 20*60)
	want429(t, "the right password from the same IP", m.signIn(userEmail, userPass, "203.0.113.7"), 20*60)
	if res := m.signIn(userEmail, userPass, "198.51.100.1"); res.status != 200 {
		t.Errorf("another IP: got %d %s", res.status, res.body)
	}
	// IPv6 clients are counted per /64: a subscriber cannot escape the
	// limit by changing the low bits of its address.
	for i := range 3 {
		ip := "2001:db8:1:2::" + strconv.Itoa(i+1)
		wantStatus(t, "IPv6 failure from "+ip, m.signIn("x@example.com", "wrong-password", ip), 400)
	}
	want429(t, "another address of the same /64", m.signIn("y@example.com", "wrong-password", "2001:db8:1:2:ffff::9"), 20*60)
	wantStatus(t, "another /64", m.signIn("y@example.com", "wrong-password", "2001:db8:1:3::1"), 400)

	// Superusers are throttled alike (their collection has its own budget).
	for range 3 {
		res := m.do("POST", "/api/collections/_superusers/auth-with-password", "",
			map[string]any{"identity": suEmail, "password": "wrong-password"}, map[string]string{"X-Real-IP": "203.0.113.8"})
		wantStatus(t, "superuser failure", res, 400)
	}
	res := m.do("POST", "/api/collections/_superusers/auth-with-password", "",
		map[string]any{"identity": suEmail, "password": suPassword}, map[string]string{"X-Real-IP": "203.0.113.8"})
	want429(t, "superuser sign-in once limited", res, 20*60)
}

func TestPasswordLoginDefaultThrottle(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t) // DefaultThrottle: 10 failures per identity, one more a minute
	m.t = t
	start := time.Now()
	for i := range 10 {
		wantStatus(t, "failure "+strconv.Itoa(i+1), m.signIn(userEmail, "wrong-password", ""), 400)
	}
	// On a slow machine the bucket refills while the failures are sent:
	// allow one more failure per minute spent.
	extra := int(time.Since(start) / time.Minute)
	for i := range extra {
		if res := m.signIn(userEmail, "wrong-password", ""); res.status == 429 {
			break
		} else {
			wantStatus(t, "refilled failure "+strconv.Itoa(i+1), res, 400)
		}
	}
	want429(t, "failure past the default limit", m.signIn(userEmail, "wrong-password", ""), 60)
	m.clock.advance(time.Minute)
	m.login("users", userEmail, userPass)
}

// TestEveryAuthEndpointIsThrottledPerIP checks the per-IP limit of each
// public endpoint that sends mail or checks a secret, each with its own
// budget, and that another client IP is not affected.
func TestEveryAuthEndpointIsThrottledPerIP(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, auth.WithThrottle(auth.Throttle{PerIP: ratelimit.Rule{Burst: 2, Per: time.Hour}}))
	m.patchCollection(t, "users", map[string]any{"otp": map[string]any{"enabled": true}})
	m.trustProxy(t)
	n := 0
	for _, c := range []struct {
		endpoint, auth string
		body           func() map[string]any
		status         int
	}{
		{"request-otp", "", func() map[string]any { return map[string]any{"email": userEmail} }, 200},
		{"auth-with-otp", "", func() map[string]any { return map[string]any{"otpId": "aaaaaaaaaaaaaaa", "password": "12345678"} }, 400},
		{"request-verification", "", func() map[string]any { return map[string]any{"email": userEmail} }, 204},
		{"request-password-reset", "", func() map[string]any { return map[string]any{"email": userEmail} }, 204},
		{"confirm-password-reset", "", func() map[string]any {
			return map[string]any{"token": "forged.token.value", "password": "new-password-1", "passwordConfirm": "new-password-1"}
		}, 400},
		{"request-email-change", "user", func() map[string]any {
			n++
			return map[string]any{"newEmail": "new" + strconv.Itoa(n) + "@example.com"}
		}, 204},
		{"confirm-email-change", "", func() map[string]any { return map[string]any{"token": "forged.token.value", "password": userPass} }, 400},
	} {
		url := "/api/collections/users/" + c.endpoint
		ip := map[string]string{"X-Real-IP": "203.0.113.50"}
		for i := range 2 {
			wantStatus(t, c.endpoint+" "+strconv.Itoa(i+1), m.do("POST", url, c.auth, c.body(), ip), c.status)
		}
		want429(t, c.endpoint+" 3rd", m.do("POST", url, c.auth, c.body(), ip), 30*60)
		other := map[string]string{"X-Real-IP": "203.0.113.51"}
		wantStatus(t, c.endpoint+" from another IP", m.do("POST", url, c.auth, c.body(), other), c.status)
	}
}

// TestUnknownIdentityCostsOneBcrypt measures password sign-ins at the
// default bcrypt cost: an unknown identity must take about as long as a
// known one with a wrong password (a dummy hash is checked), where
// skipping bcrypt would make it some 50 times faster. The calls are
// interleaved and compared by median, with a factor 3 of tolerance, so
// that load on the machine cannot make the test flaky.
func TestUnknownIdentityCostsOneBcrypt(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, auth.WithThrottle(auth.Throttle{}))
	m.t = t
	for _, c := range []struct{ name, collection, identity string }{
		{"users", "users", userEmail},
		{"superusers", "_superusers", suEmail},
	} {
		known, unknown := medianPair(t, 5, func(i int) *response {
			return m.do("POST", "/api/collections/"+c.collection+"/auth-with-password", "",
				map[string]any{"identity": c.identity, "password": "wrong-password"}, nil)
		}, func(i int) *response {
			return m.do("POST", "/api/collections/"+c.collection+"/auth-with-password", "",
				map[string]any{"identity": "nobody" + strconv.Itoa(i) + "@example.com", "password": "wrong-password"}, nil)
		}, 400)
		t.Logf("%s: median wrong password %v, unknown identity %v", c.name, known, unknown)
		if unknown*3 < known || known*3 < unknown {
			t.Errorf("%s: known identity %v vs unknown %v: not within a factor 3", c.name, known, unknown)
		}
	}
}

// medianPair runs a and b n times each, interleaved, checks that every
// answer has status want and the same body as the first, and returns the
// median durations.
func medianPair(t *testing.T, n int, a, b func(i int) *response, want int) (time.Duration, time.Duration) {
	t.Helper()
	var da, db []time.Duration
	var first string
	check := func(res *response) {
		t.Helper()
		if res.status != want {
			t.Fatalf("got %d %s, want %d", res.status, res.body, want)
		}
		if first == "" {
			first = string(res.body)
		} else if string(res.body) != first {
			t.Errorf("answers differ: %s vs %s", res.body, first)
		}
	}
	for i := range n {
		start := time.Now()
		check(a(i))
		da = append(da, time.Since(start))
		start = time.Now()
		check(b(i))
		db = append(db, time.Since(start))
	}
	slices.Sort(da)
	slices.Sort(db)
	return da[n/2], db[n/2]
}
