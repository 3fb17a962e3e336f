package main

import (
	"net/netip"
	"reflect"
	"testing"
)

func TestWebhookAllowList(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]netip.Prefix{
		"":                             nil,
		"127.0.0.1":                    {netip.MustParsePrefix("127.0.0.1/32")},
		"10.0.0.0/8, ::1, 10.1.2.3/16": {netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.1.0.0/16")},
	} {
		got, err := webhookOptions(&options{webhookAllowPrivate: in})
		if err != nil || !reflect.DeepEqual(got.AllowPrivate, want) {
			t.Errorf("%q: got %v, %v; want %v", in, got.AllowPrivate, err, want)
		}
	}
	if _, err := webhookOptions(&options{webhookAllowPrivate: "localhost"}); err == nil {
		t.Error("a host name was accepted")
	}
}
