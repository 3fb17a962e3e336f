package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// responseExcerpt bounds the response body kept in an attempt; bodies are
// read no further than maxResponse.
const (
	responseExcerpt = 1 << 10
	maxResponse     = 64 << 10
)

// ErrForbiddenAddress is returned (wrapped) when a webhook URL resolves to
// an address outside the public internet that no allow-list entry permits.
var ErrForbiddenAddress = errors.New("address not allowed")

// client posts deliveries. Its dialer checks every address it connects to,
// after DNS resolution, so that a name that resolves (or re-resolves) to a
// private address is refused; redirects are not followed.
type client struct {
	http  *http.Client
	allow []netip.Prefix
}

func newClient(timeout time.Duration, allow []netip.Prefix, wrap func(http.RoundTripper) http.RoundTripper) *client {
	c := &client{allow: allow}
	dialer := &net.Dialer{Timeout: timeout, Control: c.control}
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

// control runs after resolution, before connecting: address is an IP.
func (c *client) control(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, address)
	}
	if !c.allowed(ip.Unmap().WithZone("")) {
		return fmt.Errorf("%w: %s", ErrForbiddenAddress, ip)
	}
	return nil
}

// nonPublic are the special-purpose ranges net/netip has no predicate for.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64 can reach IPv4 private space
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"), // 6to4
}

func (c *client) allowed(ip netip.Addr) bool {
	for _, p := range c.allow {
		if p.Contains(ip) {
			return true
		}
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
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
