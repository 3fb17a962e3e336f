package postgres

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

func TestUniqueColumns(t *testing.T) {
	tests := []struct {
		detail string
		want   []string
	}{
		{"Key (slug)=(hello) already exists.", []string{"slug"}},
		{`Key ("Title", body)=(a, b) already exists.`, []string{"Title", "body"}},
		{"Key (lower(handle))=(one) already exists.", []string{"handle"}},
		{`Key (lower("Handle"::text))=(one) already exists.`, []string{"Handle"}},
		{"Key (rtrim(name, ' '::text))=(x) already exists.", []string{"name"}},
		{"Key ((meta::text))=({}) already exists.", nil},
		{"something else", nil},
	}
	for _, tt := range tests {
		if got := uniqueColumns(tt.detail); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("uniqueColumns(%q): got %v, want %v", tt.detail, got, tt.want)
		}
	}
}

func TestFormatError(t *testing.T) {
	ctx := context.Background()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want apperr.Code
	}{
		{"unique", ctx, &pgconn.PgError{Code: "23505", Detail: "Key (a)=(b) already exists."}, apperr.Conflict},
		{"not null", ctx, &pgconn.PgError{Code: "23502"}, apperr.Invalid},
		{"missing table", ctx, &pgconn.PgError{Code: "42P01"}, apperr.NotFound},
		{"duplicate table", ctx, &pgconn.PgError{Code: "42P07"}, apperr.Conflict},
		{"serialization", ctx, &pgconn.PgError{Code: "40001"}, apperr.Unavailable},
		{"deadlock", ctx, &pgconn.PgError{Code: "40P01"}, apperr.Unavailable},
		{"too many connections", ctx, &pgconn.PgError{Code: "53300"}, apperr.Unavailable},
		{"statement timeout", ctx, &pgconn.PgError{Code: "57014"}, apperr.Unavailable},
		{"canceled context", canceled, errors.New("boom"), apperr.Unavailable},
		{"syntax", ctx, &pgconn.PgError{Code: "42601"}, apperr.Internal},
		{"other", ctx, errors.New("boom"), apperr.Internal},
		{"already ours", ctx, apperr.New(apperr.Forbidden, "no"), apperr.Forbidden},
	}
	for _, tt := range tests {
		if got := apperr.CodeOf(formatError(tt.ctx, tt.err)); got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestErrorMapping drives real violations through the engine.
func TestErrorMapping(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	c := &schema.Collection{ID: "pbc_users", Name: "users", Type: schema.TypeBase, Fields: []*schema.Field{
		{ID: "text_id", Name: "id", Type: schema.TypeText},
		{ID: "text_handle", Name: "Handle", Type: schema.TypeText},
		{ID: "email_email", Name: "email", Type: schema.TypeEmail},
	}, Indexes: []string{
		"CREATE UNIQUE INDEX `idx_handle` ON `users` (`Handle` COLLATE NOCASE)",
		"CREATE UNIQUE INDEX `idx_email` ON `users` (`email`) WHERE `email` != ''",
	}}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, c) }); err != nil {
		t.Fatal(err)
	}
	rec := func(id, handle, email string) *schema.Record {
		r := schema.NewRecord(c)
		r.Data["id"], r.Data["Handle"], r.Data["email"] = id, handle, email
		return r
	}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.InsertRecord(ctx, rec("u1", "Ann", "a@x.io")) }); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		r     *schema.Record
		field string
	}{
		{"case-insensitive unique", rec("u2", "ANN", ""), "Handle"},
		{"partial unique", rec("u3", "bob", "a@x.io"), "email"},
		{"primary key", rec("u1", "carl", ""), "id"},
	}
	for _, tt := range tests {
		// The failed insert leaves the transaction usable: the next insert
		// in the same transaction commits.
		err := s.InTx(ctx, func(tx store.Tx) error {
			err := tx.InsertRecord(ctx, tt.r)
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Conflict {
				t.Errorf("%s: got %v, want conflict", tt.name, err)
			} else if f, ok := e.Data[tt.field].(apperr.Field); !ok || f.Code != "validation_not_unique" {
				t.Errorf("%s: data %#v, want %s not unique", tt.name, e.Data, tt.field)
			}
			return tx.InsertRecord(ctx, rec("ok_"+tt.r.ID(), "h_"+tt.r.ID(), ""))
		})
		if err != nil {
			t.Errorf("%s: transaction after the conflict: %v", tt.name, err)
		}
	}
	ghost := &schema.Collection{ID: "pbc_ghost", Name: "ghost", Fields: []*schema.Field{{ID: "text_id", Name: "id", Type: schema.TypeText}}}
	if _, err := s.FindRecords(ctx, &store.Query{Collection: ghost}); apperr.CodeOf(err) != apperr.NotFound {
		t.Errorf("missing table: got %v, want not_found", err)
	}
	long := &schema.Collection{ID: "pbc_long", Name: "a234567890123456789012345678901234567890123456789012345678901234", Fields: ghost.Fields}
	if err := s.InTx(ctx, func(tx store.Tx) error { return tx.CreateCollection(ctx, long) }); apperr.CodeOf(err) != apperr.Invalid {
		t.Errorf("64-byte collection name: got %v, want invalid", err)
	}
}
