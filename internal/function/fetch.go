package function

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/mail"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/dop251/goja"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/netguard"
)

// Outbound HTTP limits.
const (
	maxFetchBody     = 1 << 20 // request body
	maxFetchResponse = 4 << 20 // response body read
)

// fetcher makes basalt.http.fetch calls: public addresses only (the same
// guard as webhooks, checked after DNS resolution), no proxy, no
// redirects followed, a timeout and a response size cap.
type fetcher struct {
	client  *http.Client
	timeout time.Duration
}

func newFetcher(allow []netip.Prefix, timeout time.Duration, wrap func(http.RoundTripper) http.RoundTripper) *fetcher {
	dialer := &net.Dialer{Timeout: timeout, Control: netguard.Guard{Allow: allow}.Control}
	var rt http.RoundTripper = &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          16,
		IdleConnTimeout:       90 * time.Second,
	}
	if wrap != nil {
		rt = wrap(rt)
	}
	return &fetcher{timeout: timeout, client: &http.Client{
		Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// httpFetch is basalt.http.fetch(url, {method, headers, body, timeout}):
// it returns {status, headers, body, json()} (body as text, at most 4 MiB)
// or throws on a refused address, a timeout or a network error.
func (v *vm) httpFetch(c goja.FunctionCall) goja.Value {
	f := v.svc.http
	raw := c.Argument(0).String()
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.throw(apperr.New(apperr.Invalid, "basalt.http.fetch needs an http or https URL."))
	}
	opts := v.options(c, 1)
	method := strings.ToUpper(optString(opts, "method"))
	if method == "" {
		method = http.MethodGet
	}
	body := optString(opts, "body")
	if len(body) > maxFetchBody {
		v.throw(apperr.New(apperr.TooLarge, "The request body of basalt.http.fetch is limited to 1 MiB."))
	}
	timeout := f.timeout
	if ms := optInt(opts, "timeout"); ms > 0 && time.Duration(ms)*time.Millisecond < timeout {
		timeout = time.Duration(ms) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(v.ctx(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), strings.NewReader(body))
	if err != nil {
		v.throw(apperr.New(apperr.Invalid, "basalt.http.fetch: invalid request."))
	}
	if opts != nil {
		if h, ok := prop(opts, "headers").Export().(map[string]any); ok {
			for k, val := range h {
				req.Header.Set(k, toString(val))
			}
		}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		switch {
		case errors.Is(err, netguard.ErrForbidden):
			v.throw(apperr.New(apperr.Forbidden, "basalt.http.fetch: the address is not allowed (private or local network)."))
		case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
			v.throw(apperr.New(apperr.Unavailable, "basalt.http.fetch: the request timed out."))
		}
		v.throw(apperr.Wrap(apperr.Unavailable, "basalt.http.fetch: the request failed.", err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxFetchResponse+1))
	if err != nil {
		v.throw(apperr.Wrap(apperr.Unavailable, "basalt.http.fetch: reading the response failed.", err))
	}
	if len(b) > maxFetchResponse {
		v.throw(apperr.New(apperr.TooLarge, "basalt.http.fetch: the response is larger than 4 MiB."))
	}
	headers := map[string]string{}
	for k, vals := range resp.Header {
		headers[strings.ToLower(k)] = strings.Join(vals, ", ")
	}
	out := v.rt.NewObject()
	_ = out.Set("status", resp.StatusCode)
	_ = out.Set("headers", v.toJS(headers))
	text := string(b)
	_ = out.Set("body", text)
	_ = out.Set("json", func(goja.FunctionCall) goja.Value {
		res, err := v.jsonParse(goja.Undefined(), v.rt.ToValue(text))
		if err != nil {
			panic(err)
		}
		return res
	})
	return out
}

func toString(x any) string {
	if s, ok := x.(string); ok {
		return s
	}
	if x == nil {
		return ""
	}
	b, _ := json.Marshal(x)
	return string(b)
}

func parseAddress(s string) (mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return mail.Address{}, err
	}
	return *a, nil
}
