package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestTokenKeysCommand(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cmd := func(env map[string]string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append(args, "--dir", dir), func(k string) string { return env[k] }, nil, &out, &errOut)
		return out.String(), err
	}
	if _, err := cmd(nil, "token-keys", "rotate"); err == nil || !strings.Contains(err.Error(), "ES256 or EdDSA") {
		t.Errorf("rotate in HS256 mode: err = %v", err)
	}
	if _, err := cmd(nil, "token-keys", "rotate", "--token-alg", "RS256"); err == nil {
		t.Error("--token-alg RS256 accepted")
	}
	if _, err := cmd(map[string]string{"BASALT_TOKEN_ALG": "none"}, "serve"); err == nil || !strings.Contains(err.Error(), "token-alg") {
		t.Errorf("BASALT_TOKEN_ALG=none: err = %v", err)
	}
	first, err := cmd(nil, "token-keys", "rotate", "--token-alg", "EdDSA")
	if err != nil || !strings.Contains(first, "EdDSA signing key") {
		t.Fatalf("rotate: %q, %v", first, err)
	}
	second, err := cmd(map[string]string{"BASALT_TOKEN_ALG": "ES256"}, "token-keys", "rotate")
	if err != nil || !strings.Contains(second, "ES256 signing key") || second == first {
		t.Fatalf("second rotate: %q, %v", second, err)
	}
}
