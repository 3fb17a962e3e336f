package main

import (
	"flag"
	"fmt"

	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/ratelimit"
)

// throttleFlags registers the brute-force limits of the auth endpoints on
// fs, each a ratelimit rule written BURST/PERIOD ("30/1m") or "off". A
// BASALT_AUTH_THROTTLE_* environment variable replaces the default; the
// flag replaces both.
func throttleFlags(fs *flag.FlagSet, getenv func(string) string, t *auth.Throttle) error {
	for _, f := range []struct {
		name  string
		rule  *ratelimit.Rule
		usage string
	}{
		{"auth-throttle-login-ip", &t.LoginPerIP, "failed password sign-ins per client IP (IPv6: per /64) and auth collection"},
		{"auth-throttle-login-identity", &t.LoginPerIdentity, "failed password sign-ins per identity (known or not) and auth collection"},
		{"auth-throttle-ip", &t.PerIP, "requests per client IP to each of request-otp, auth-with-otp, request-verification, request-password-reset, confirm-password-reset, request-email-change and confirm-email-change"},
		{"auth-throttle-identity", &t.PerIdentity, "mails per address (known or not) or record, per endpoint: request-otp, request-verification, request-password-reset, request-email-change"},
		{"auth-throttle-otp", &t.OTPAttempts, "one-time password attempts per auth record"},
	} {
		env := envName(f.name)
		if v := getenv(env); v != "" {
			if err := f.rule.Set(v); err != nil {
				return fmt.Errorf("%s: %w", env, err)
			}
		}
		fs.Var(f.rule, f.name, f.usage+" (BURST/PERIOD or off; env "+env+")")
	}
	return nil
}

// envName is the environment variable of a flag: auth-throttle-ip →
// BASALT_AUTH_THROTTLE_IP.
func envName(flagName string) string {
	b := []byte("BASALT_" + flagName)
	for i, c := range b {
		switch {
		case c == '-':
			b[i] = '_'
		case 'a' <= c && c <= 'z':
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
