// Package netguard decides which addresses outbound requests made on behalf
// of users (webhook deliveries, HTTP calls from functions) may connect to:
// the public internet only, unless an allow-list names a private network.
// Dialers check every address after DNS resolution, so a name that resolves
// (or re-resolves) to a private address is refused.
//
// netguard is a leaf package: it imports no other Basalt package.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// ErrForbidden is returned (wrapped) when a connection would reach an
// address outside the public internet that no allow-list entry permits.
var ErrForbidden = errors.New("address not allowed")

// Guard checks addresses against the public internet and Allow.
type Guard struct {
	// Allow lists private, loopback or link-local networks that may be
	// reached anyway.
	Allow []netip.Prefix
}

// Control is a net.Dialer Control function: it runs after resolution,
// before connecting, so address is an IP and port.
func (g Guard) Control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbidden, address)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbidden, address)
	}
	if !g.Allowed(ip.Unmap().WithZone("")) {
		return fmt.Errorf("%w: %s", ErrForbidden, ip)
	}
	return nil
}

// nonPublic returns the special-purpose ranges net/netip has no predicate for.
func nonPublic() [8]netip.Prefix {
	return [...]netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),
		netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
		netip.MustParsePrefix("192.0.0.0/24"),
		netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
		netip.MustParsePrefix("240.0.0.0/4"),   // reserved, broadcast
		netip.MustParsePrefix("64:ff9b::/96"),  // NAT64 can reach IPv4 private space
		netip.MustParsePrefix("64:ff9b:1::/48"),
		netip.MustParsePrefix("2002::/16"), // 6to4
	}
}

// Allowed reports whether ip may be reached: it is public, or Allow
// contains it.
func (g Guard) Allowed(ip netip.Addr) bool {
	for _, p := range g.Allow {
		if p.Contains(ip) {
			return true
		}
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic() {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
