package auth_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/password"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// BenchmarkWithPassword measures one password sign-in of a users record at
// the default bcrypt cost: the identity lookup, the bcrypt check (which
// dominates), the authRule and the token. Run without -race:
//
//	go test -run '^$' -bench WithPassword ./internal/auth/
func BenchmarkWithPassword(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "data.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	records := record.New(st, cols, nil, time.Now, random.ID)
	svc := auth.New(st, cols, records, time.Now)
	super := &record.Request{Auth: &schema.Record{Collection: &schema.Collection{ID: schema.SuperusersID}}}
	const email, pass = "bench@example.com", "bench-password-123"
	it, err := records.Create(ctx, super, "users", record.Input{Data: map[string]any{
		"email": email, "password": pass, "passwordConfirm": pass}}, "")
	if err != nil {
		b.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(it.Record.String("password"))); err != nil || cost != password.DefaultCost {
		b.Fatalf("the stored hash has cost %d (%v), want the default %d", cost, err, password.DefaultCost)
	}
	in := auth.PasswordLogin{Identity: email, Password: pass}
	b.ResetTimer()
	for b.Loop() {
		login, err := svc.WithPassword(ctx, nil, "users", in)
		if err != nil || login.Token == "" {
			b.Fatalf("sign-in: %v", err)
		}
	}
}

// BenchmarkWithPasswordUnknown is the same for an unknown identity, which
// checks a dummy hash so that both paths take the same time. Throttling is
// off: it would refuse the failed attempts after the tenth.
func BenchmarkWithPasswordUnknown(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "data.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		b.Fatal(err)
	}
	svc := auth.New(st, cols, record.New(st, cols, nil, time.Now, random.ID), time.Now, auth.WithThrottle(auth.Throttle{}))
	in := auth.PasswordLogin{Identity: "nobody@example.com", Password: "whatever-123"}
	for b.Loop() {
		_, err := svc.WithPassword(ctx, nil, "users", in)
		if apperr.CodeOf(err) != apperr.Invalid {
			b.Fatalf("unknown identity: got %v, want a failed sign-in", err)
		}
	}
}
