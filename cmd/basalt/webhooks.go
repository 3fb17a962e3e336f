package main

import (
	"fmt"

	"github.com/basalt-dev/basalt/internal/webhook"
)

// webhookOptions builds the webhook service's options from the flags.
func webhookOptions(o *options) (webhook.Options, error) {
	opts := webhook.Options{MaxAttempts: o.webhookMaxAttempts}
	allow, err := parsePrefixes(o.webhookAllowPrivate)
	if err != nil {
		return opts, fmt.Errorf("--webhook-allow-private: %w", err)
	}
	opts.AllowPrivate = allow
	return opts, nil
}
