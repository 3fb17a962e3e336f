package rest

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientIP returns the IP of the client that sent r. Behind a trusted proxy
// it is read from the first of trustedHeaders that is set (its last
// occurrence, which the proxy controls): the rightmost valid IP of a list
// such as X-Forwarded-For, or the leftmost one when useLeftmost. Otherwise,
// and when no header holds a valid IP, it is the connection's remote
// address. IPv6 addresses are returned in expanded form and IPv4-mapped
// IPv6 addresses as IPv4.
//
// With trusted proxy networks configured (--trusted-proxy), headers are
// honoured only from peers in them, and X-Real-IP and X-Forwarded-For when
// the settings name none.
func clientIP(r *http.Request, trustedHeaders []string, useLeftmost bool) string {
	if st := stateOf(r); st != nil {
		switch st.proxy {
		case proxyUntrusted:
			return remoteIP(r)
		case proxyTrusted:
			if len(trustedHeaders) == 0 {
				trustedHeaders = []string{"X-Real-IP", "X-Forwarded-For"}
			}
		}
	}
	for _, name := range trustedHeaders {
		values := r.Header.Values(name)
		if len(values) == 0 {
			continue
		}
		ips := strings.Split(values[len(values)-1], ",")
		for i := range ips {
			j := len(ips) - 1 - i
			if useLeftmost {
				j = i
			}
			if ip, ok := parseIP(ips[j]); ok {
				return ip
			}
		}
	}
	return remoteIP(r)
}

// remoteIP returns the IP of the connection's peer, or "" when unknown.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr // no port
	}
	ip, _ := parseIP(host)
	return ip
}

func parseIP(s string) (string, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	addr, err := netip.ParseAddr(s)
	if err != nil {
		return "", false
	}
	addr = addr.Unmap()
	if addr.Is4() {
		return addr.String(), true
	}
	return addr.StringExpanded(), true
}
