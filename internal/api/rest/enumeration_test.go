package rest_test

import (
	"regexp"
	"slices"
	"strconv"
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
// generous slack (twice the other plus 10 ms) so that a loaded machine does
// not make the test flaky; TestRequestsDoNotWriteBeforeAnswering proves
// the same property without a clock.
func TestRequestEndpointsTakeTheSameTimeForUnknownAddresses(t *testing.T) {
	t.Parallel()
	m := newMailEnv(t, auth.WithThrottle(auth.Throttle{}))
	m.patchCollection(t, "users", map[string]any{"otp": map[string]any{"enabled": true}})
	release := m.smtp.Hold()
	defer release()
	const n = 9
	for _, ep := range []string{"request-verification", "request-password-reset", "request-otp"} {
		url := "/api/collections/users/" + ep
		var known, unknown []time.Duration
		var answers [2]string
		for i := range 2 * n {
			address := userEmail
			if i%2 == 1 {
				address = "nobody@example.com"
			}
			start := time.Now()
			res := m.do("POST", url, "", map[string]any{"email": address}, nil)
			d := time.Since(start)
			body := string(res.body)
			if ep == "request-otp" {
				// The id is random; its form is the same for both.
				body = otpIDPattern.ReplaceAllString(body, `"otpId":"<id>"`)
			}
			answer := strconv.Itoa(res.status) + " " + body
			if answers[i%2] == "" {
				answers[i%2] = answer
			} else if answers[i%2] != answer {
				t.Errorf("%s: answers to %s differ: %q vs %q", ep, address, answer, answers[i%2])
			}
			if i%2 == 0 {
				known = append(known, d)
			} else {
				unknown = append(unknown, d)
			}
		}
		if answers[0] != answers[1] {
			t.Errorf("%s: known address answered %q, unknown %q", ep, answers[0], answers[1])
		}
		slices.Sort(known)
		slices.Sort(unknown)
		k, u := known[n/2], unknown[n/2]
		t.Logf("%s: median %v for a registered address, %v for an unknown one", ep, k, u)
		if k > 2*u+10*time.Millisecond || u > 2*k+10*time.Millisecond {
			t.Errorf("%s: registered %v vs unknown %v: beyond twice the other plus 10 ms", ep, k, u)
		}
	}
}
