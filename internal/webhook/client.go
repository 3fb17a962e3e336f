package webhook

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/basalt-dev/basalt/internal/netguard"
)

// responseExcerpt bounds the response body kept in an attempt; bodies are
// read no further than maxResponse.
const (
	responseExcerpt = 1 << 10
	maxResponse     = 64 << 10
)

// ErrForbiddenAddress is returned (wrapped) when a webhook URL resolves to
// an address outside the public internet that no allow-list entry permits.
var ErrForbiddenAddress = netguard.ErrForbidden

// client posts deliveries. Its dialer checks every address it connects to,
// after DNS resolution (netguard), so that a name that resolves (or
// re-resolves) to a private address is refused; redirects are not followed.
type client struct {
	http *http.Client
}

func newClient(timeout time.Duration, allow []netip.Prefix, wrap func(http.RoundTripper) http.RoundTripper) *client {
	c := &client{}
	dialer := &net.Dialer{Timeout: timeout, Control: netguard.Guard{Allow: allow}.Control}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial on our behalf, unchecked
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
	}
	var rt http.RoundTripper = transport
	if wrap != nil {
		rt = wrap(rt)
	}
	c.http = &http.Client{
		Transport: rt,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return c
}

// result is what one attempt produced.
type result struct {
	status  int
	excerpt string
	err     error
}

// post sends body to url with headers and reads at most maxResponse of the
// answer.
func (c *client) post(ctx context.Context, url string, header http.Header, body []byte) result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytesReader(body))
	if err != nil {
		return result{err: err}
	}
	req.Header = header
	resp, err := c.http.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	r := result{status: resp.StatusCode, excerpt: excerpt(b)}
	if err != nil {
		r.err = fmt.Errorf("reading the response: %w", err)
	}
	return r
}

// excerpt keeps the first KiB of b, cut at a rune boundary.
func excerpt(b []byte) string {
	if len(b) <= responseExcerpt {
		return string(b)
	}
	n := responseExcerpt
	for n > 0 && b[n]&0xC0 == 0x80 {
		n--
	}
	return string(b[:n])
}
