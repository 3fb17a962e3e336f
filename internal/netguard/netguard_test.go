package netguard

import (
	"errors"
	"net/netip"
	"testing"
)

func TestAllowed(t *testing.T) {
	t.Parallel()
	g := Guard{Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"93.184.216.34", true}, {"2606:4700::1111", true},
		{"127.0.0.1", false}, {"::1", false}, {"10.0.0.1", false}, {"10.1.2.3", true},
		{"192.168.1.1", false}, {"169.254.169.254", false}, {"100.64.0.1", false},
		{"0.0.0.0", false}, {"fe80::1", false}, {"64:ff9b::a00:1", false}, {"224.0.0.1", false},
	} {
		if got := g.Allowed(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Allowed(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	g := Guard{}
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.216.34:443", true}, {"127.0.0.1:80", false}, {"[::ffff:127.0.0.1]:80", false},
		{"not-an-address", false}, {"example.com:80", false},
	} {
		err := g.Control("tcp", tc.addr, nil)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrForbidden)) {
			t.Errorf("Control(%s) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
}
