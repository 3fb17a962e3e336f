package rest_test

import (
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/auth"
)

var otpIDPattern = regexp.MustCompile(`"otpId":"[a-z0-9]{15}"`)

// TestRequestEndpointsTakeTheSameTimeForUnknownAddresses measures the
// request-* endpoints for a registered and an unknown address while the
// SMTP server holds every mail, so an endpoint that mailed, hashed a
// one-time password or wrote before answering would be slower for the
// registered address. Calls are interleaved and compared by median with
// generous slack (three times the other plus 3 ms, in up to three rounds)
// so that a loaded machine does not make the test flaky.
// TestRequestsDoNotWriteBeforeAnswering proves the same property without a
// clock, and TestRequestOTPDoesTheSameWorkForUnknownAddresses compares the
// work done after the answer.
func TestRequestEndpointsTakeTheSameTimeForUnknownAddresses(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, auth.WithThrottle(auth.Throttle{}))
	m.patchCollection(t, "users", map[string]any{"otp": map[string]any{"enabled": true}})
	release := m.smtp.Hold()
	defer release()
	const n = 15
	for _, ep := range []string{"request-verification", "request-password-reset", "request-otp"} {
		// A loaded machine can skew one round; a real difference shows in
		// every round.
		var k, u time.Duration
		for round := range 3 {
			k, u = m.measureRequest(t, ep, n)
			t.Logf("%s, round %d: median %v for a registered address, %v for an unknown one", ep, round+1, k, u)
			if k <= 3*u+3*time.Millisecond && u <= 3*k+3*time.Millisecond {
				break
			}
		}
		if k > 3*u+3*time.Millisecond || u > 3*k+3*time.Millisecond {
			t.Errorf("%s: registered %v vs unknown %v in 3 rounds: beyond three times the other plus 3 ms", ep, k, u)
		}
	}
}

// measureRequest posts n requests to endpoint ep for a registered and n
// for an unknown address, interleaved, checks that each address always
// gets the same answer and both get the same one, and returns the median
// durations.
func (m *mailEnv) measureRequest(t *testing.T, ep string, n int) (known, unknown time.Duration) {
	t.Helper()
	url := "/api/collections/users/" + ep
	var times [2][]time.Duration
	var answers [2]string
	for i := range 2 * n {
		address := userEmail
		if i%2 == 1 {
			address = "nobody@example.com"
		}
		// Each request starts on a quiet server, so that it pays only for
		// the work it starts itself, not for its predecessor's.
		m.auth.Wait()
		start := time.Now()
		res := m.do("POST", url, "", map[string]any{"email": address}, nil)
		times[i%2] = append(times[i%2], time.Since(start))
		// The otpId is random; its form is the same for both.
		answer := strconv.Itoa(res.status) + " " + otpIDPattern.ReplaceAllString(string(res.body), `"otpId":"<id>"`)
		if answers[i%2] == "" {
			answers[i%2] = answer
		} else if answers[i%2] != answer {
			t.Errorf("%s: answers to %s differ: %q vs %q", ep, address, answer, answers[i%2])
		}
	}
	if answers[0] != answers[1] {
		t.Errorf("%s: a registered address got %q, an unknown one %q", ep, answers[0], answers[1])
	}
	for _, d := range times {
		slices.Sort(d)
	}
	return times[0][n/2], times[1][n/2]
}

// TestRequestOTPDoesTheSameWorkForUnknownAddresses compares the CPU time
// that request-otp costs the server, background work included, for a
// registered and an unknown address. The one-time password of a registered
// address is hashed with bcrypt after the answer; that work competes with
// the answer for the CPU, so an unknown address must cost the same, or its
// answers come measurably sooner. CPU time is not disturbed by a loaded
// machine as wall time is; the test is not parallel, so no other test's
// work is counted.
func TestRequestOTPDoesTheSameWorkForUnknownAddresses(t *testing.T) {
	m := newMailEnv(t, auth.WithThrottle(auth.Throttle{}))
	m.patchCollection(t, "users", map[string]any{"otp": map[string]any{"enabled": true}})
	m.settle(t)
	cpu := func(address string) time.Duration {
		t.Helper()
		start := rusageCPU(t)
		for range 6 {
			m.mustJSON("POST", "/api/collections/users/request-otp", "", map[string]any{"email": address}, 200)
			m.auth.Wait()
		}
		return rusageCPU(t) - start
	}
	known, unknown := cpu(userEmail), cpu("nobody@example.com")
	t.Logf("CPU for 6 requests: %v for a registered address, %v for an unknown one", known, unknown)
	if known > 3*unknown || unknown > 3*known {
		t.Errorf("CPU for a registered address %v vs an unknown one %v: not within a factor 3", known, unknown)
	}
}

// rusageCPU returns the CPU time (user and system) this process used so far.
func rusageCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
