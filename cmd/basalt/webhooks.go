package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/basalt-dev/basalt/internal/webhook"
)

// webhookOptions builds the webhook service's options from the flags.
func webhookOptions(o *options) (webhook.Options, error) {
	opts := webhook.Options{MaxAttempts: o.webhookMaxAttempts}
	for _, s := range strings.Split(o.webhookAllowPrivate, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return opts, fmt.Errorf("--webhook-allow-private: %q is not a CIDR or IP address", s)
			}
			p = netip.PrefixFrom(addr, addr.BitLen())
		}
		opts.AllowPrivate = append(opts.AllowPrivate, p.Masked())
	}
	return opts, nil
}
