package settings

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

// memStore is an in-memory ParamStore (params plus a transaction that
// commits its writes only when fn succeeds), for fuzzing and fault injection
// where opening SQLite per case would be too slow or too indirect.
type memStore struct {
	mu     sync.Mutex
	params map[string][]byte
}

func newMemStore() *memStore { return &memStore{params: map[string][]byte{}} }

func (m *memStore) Param(_ context.Context, key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.params[key]
	if !ok {
		return nil, apperr.New(apperr.NotFound, "param not found")
	}
	return v, nil
}

func (m *memStore) InTx(_ context.Context, fn func(tx store.Tx) error) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{staged: maps.Clone(m.params)}
	if err := fn(tx); err != nil {
		return err
	}
	m.params = tx.staged
	return nil
}

// memTx implements the Tx methods the service uses; the embedded nil
// store.Tx makes any other call panic.
type memTx struct {
	store.Tx
	staged map[string][]byte
}

func (t *memTx) Param(_ context.Context, key string) ([]byte, error) {
	v, ok := t.staged[key]
	if !ok {
		return nil, apperr.New(apperr.NotFound, "param not found")
	}
	return v, nil
}

func (t *memTx) SetParam(_ context.Context, key string, value []byte) error {
	t.staged[key] = value
	return nil
}

// TouchConfig counts the touches of area in the staged params.
func (t *memTx) TouchConfig(_ context.Context, area store.ConfigArea) error {
	key := "touched." + string(area)
	t.staged[key] = append(t.staged[key], '+')
	return nil
}

// testStore opens a real SQLite store in a temporary directory.
func testStore(t *testing.T) ParamStore {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatalf("opening sqlite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// setParam stores a raw settings value, bypassing the service.
func setParam(t *testing.T, st ParamStore, value string) {
	t.Helper()
	err := st.InTx(context.Background(), func(tx store.Tx) error {
		return tx.SetParam(context.Background(), ParamKey, []byte(value))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func newService(t *testing.T, st ParamStore) *Service {
	t.Helper()
	s, err := New(context.Background(), st)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func TestNewUsesDefaultsWhenNothingStored(t *testing.T) {
	t.Parallel()
	s := newService(t, testStore(t))
	got, _ := json.Marshal(s.Get())
	want, _ := json.Marshal(Defaults())
	if string(got) != string(want) {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestUpdateMergesAndPersists(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	s := newService(t, st)
	ctx := context.Background()

	got, err := s.Update(ctx, []byte(`{"meta":{"appName":"Shop"},"batch":{"enabled":true,"maxRequests":10},
		"rateLimits":{"rules":[{"label":"/api/","maxRequests":5,"duration":2,"audience":"@guest"}]},
		"trustedProxy":{"headers":["X-Forwarded-For"]},"superuserIPs":["10.0.0.0/8"]}`))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if got.Meta.AppName != "Shop" || got.Meta.SenderName != "Support" {
		t.Fatalf("meta = %+v, want appName changed and senderName kept", got.Meta)
	}
	if !got.Batch.Enabled || got.Batch.MaxRequests != 10 || got.Batch.Timeout != 3 {
		t.Fatalf("batch = %+v", got.Batch)
	}
	if len(got.RateLimits.Rules) != 1 || got.RateLimits.Rules[0] != (RateLimitRule{Label: "/api/", Audience: "@guest", Duration: 2, MaxRequests: 5}) {
		t.Fatalf("rules = %+v, want the one sent", got.RateLimits.Rules)
	}

	// A second patch keeps the first one's changes.
	if _, err := s.Update(ctx, []byte(`{"logs":{"maxDays":9}}`)); err != nil {
		t.Fatal(err)
	}
	cur := s.Get()
	if cur.Meta.AppName != "Shop" || cur.Logs.MaxDays != 9 || len(cur.SuperuserIPs) != 1 {
		t.Fatalf("after second update: %+v", cur)
	}

	// Current is the same settings, not a copy: it moves with updates.
	before := s.Current()
	if c, _ := json.Marshal(before); string(c) != mustJSON(t, cur) {
		t.Fatalf("Current = %s, want %s", c, mustJSON(t, cur))
	}
	if _, err := s.Update(ctx, []byte(`{"logs":{"maxDays":10}}`)); err != nil {
		t.Fatal(err)
	}
	if s.Current() == before || s.Current().Logs.MaxDays != 10 || before.Logs.MaxDays != 9 {
		t.Fatal("Current did not follow the update, or the update changed the settings read before it")
	}
	cur = s.Get()

	// A new service over the same store sees the persisted settings.
	again := newService(t, st).Get()
	a, _ := json.Marshal(again)
	b, _ := json.Marshal(cur)
	if string(a) != string(b) {
		t.Fatalf("reloaded %s\nwant     %s", a, b)
	}
}

func TestSecretsKeptAndHidden(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	s := newService(t, st)
	ctx := context.Background()

	_, err := s.Update(ctx, []byte(`{"smtp":{"enabled":true,"host":"mail.example.com","port":465,"password":"p4ss"},
		"s3":{"enabled":true,"bucket":"b","region":"r","endpoint":"https://s3.example.com","accessKey":"k","secret":"s3cret"},
		"backups":{"s3":{"secret":"b4ckup"}}}`))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	// Secrets sent as "" or not at all keep their stored values.
	pub, err := s.Update(ctx, []byte(`{"smtp":{"password":""},"s3":{"secret":""},"meta":{"appName":"X"}}`))
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	full := s.Get()
	if full.SMTP.Password != "p4ss" || full.S3.Secret != "s3cret" || full.Backups.S3.Secret != "b4ckup" {
		t.Fatalf("secrets = %q %q %q, want them kept", full.SMTP.Password, full.S3.Secret, full.Backups.S3.Secret)
	}
	for name, v := range map[string]*Settings{"Update result": pub, "Public": s.Public()} {
		if v.SMTP.Password != "" || v.S3.Secret != "" || v.Backups.S3.Secret != "" {
			t.Fatalf("%s leaks a secret: %+v", name, v)
		}
	}
	// Encoding never reveals secrets, even of the full settings.
	raw, _ := json.Marshal(full)
	for _, secret := range []string{"p4ss", "s3cret", "b4ckup", `"password"`, `"secret"`} {
		if strings.Contains(string(raw), secret) {
			t.Fatalf("json.Marshal(Get()) contains %s: %s", secret, raw)
		}
	}
	// The store keeps them.
	stored, err := st.Param(ctx, ParamKey)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stored), "s3cret") {
		t.Fatalf("stored value lost the secret: %s", stored)
	}
	// A new secret replaces the old one.
	if _, err := s.Update(ctx, []byte(`{"smtp":{"password":"new"}}`)); err != nil {
		t.Fatal(err)
	}
	if got := s.Get().SMTP.Password; got != "new" {
		t.Fatalf("password = %q, want new", got)
	}
}

func TestUpdateRejectsAndKeepsState(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		patch   string
		message string
		path    []string // where the problem must be reported ("" = none)
		code    string
	}{
		{"not json", `{`, msgLoadFailed, nil, ""},
		{"array", `[1,2]`, msgLoadFailed, nil, ""},
		{"string", `"x"`, msgLoadFailed, nil, ""},
		{"trailing data", `{} {}`, msgLoadFailed, nil, ""},
		{"wrong type", `{"batch":{"maxRequests":"ten"}}`, msgLoadFailed, []string{"batch", "maxRequests"}, "validation_invalid_value"},
		{"float for int", `{"logs":{"maxDays":1.5}}`, msgLoadFailed, []string{"logs", "maxDays"}, "validation_invalid_value"},
		{"wrong type in rule", `{"rateLimits":{"rules":[{"label":1}]}}`, msgLoadFailed, []string{"rateLimits", "rules"}, "validation_invalid_value"},
		{"blank app name", `{"meta":{"appName":" "}}`, msgSaveFailed, []string{"meta", "appName"}, "validation_required"},
		{"long app name", `{"meta":{"appName":"` + strings.Repeat("x", 256) + `"}}`, msgSaveFailed, []string{"meta", "appName"}, "validation_length_out_of_range"},
		{"bad app url", `{"meta":{"appURL":"not a url"}}`, msgSaveFailed, []string{"meta", "appURL"}, "validation_is_url"},
		{"bad sender", `{"meta":{"senderAddress":"nope"}}`, msgSaveFailed, []string{"meta", "senderAddress"}, "validation_is_email"},
		{"negative max days", `{"logs":{"maxDays":-1}}`, msgSaveFailed, []string{"logs", "maxDays"}, "validation_min_greater_equal_than_required"},
		{"smtp host required", `{"smtp":{"enabled":true,"host":""}}`, msgSaveFailed, []string{"smtp", "host"}, "validation_required"},
		{"smtp bad host", `{"smtp":{"host":"bad host!"}}`, msgSaveFailed, []string{"smtp", "host"}, "validation_is_host"},
		{"smtp bad port", `{"smtp":{"port":70000}}`, msgSaveFailed, []string{"smtp", "port"}, "validation_max_less_equal_than_required"},
		{"smtp auth method", `{"smtp":{"authMethod":"CRAM"}}`, msgSaveFailed, []string{"smtp", "authMethod"}, "validation_in_invalid"},
		{"s3 required", `{"s3":{"enabled":true}}`, msgSaveFailed, []string{"s3", "bucket"}, "validation_required"},
		{"backups s3 endpoint", `{"backups":{"s3":{"endpoint":"::"}}}`, msgSaveFailed, []string{"backups", "s3", "endpoint"}, "validation_is_url"},
		{"bad cron", `{"backups":{"cron":"61 * * * *"}}`, msgSaveFailed, []string{"backups", "cron"}, "validation_invalid_cron"},
		{"cron keep required", `{"backups":{"cron":"@daily","cronMaxKeep":0}}`, msgSaveFailed, []string{"backups", "cronMaxKeep"}, "validation_required"},
		{"batch max requests", `{"batch":{"enabled":true,"maxRequests":0}}`, msgSaveFailed, []string{"batch", "maxRequests"}, "validation_required"},
		{"batch negative", `{"batch":{"maxRequests":-5}}`, msgSaveFailed, []string{"batch", "maxRequests"}, "validation_min_greater_equal_than_required"},
		{"batch body size", `{"batch":{"maxBodySize":-1}}`, msgSaveFailed, []string{"batch", "maxBodySize"}, "validation_min_greater_equal_than_required"},
		{"rules required", `{"rateLimits":{"enabled":true,"rules":[]}}`, msgSaveFailed, []string{"rateLimits", "rules"}, "validation_required"},
		{"rule label", `{"rateLimits":{"rules":[{"label":"a b c","maxRequests":1,"duration":1}]}}`, msgSaveFailed, []string{"rateLimits", "rules", "0", "label"}, "validation_match_invalid"},
		{"rule max requests", `{"rateLimits":{"rules":[{"label":"x","maxRequests":0,"duration":1}]}}`, msgSaveFailed, []string{"rateLimits", "rules", "0", "maxRequests"}, "validation_required"},
		{"rule duration", `{"rateLimits":{"rules":[{"label":"x","maxRequests":1,"duration":-1}]}}`, msgSaveFailed, []string{"rateLimits", "rules", "0", "duration"}, "validation_min_greater_equal_than_required"},
		{"rule audience", `{"rateLimits":{"rules":[{"label":"x","maxRequests":1,"duration":1,"audience":"@admin"}]}}`, msgSaveFailed, []string{"rateLimits", "rules", "0", "audience"}, "validation_in_invalid"},
		{"rule conflict", `{"rateLimits":{"rules":[{"label":"x","maxRequests":1,"duration":1},{"label":"x","maxRequests":1,"duration":1,"audience":"@auth"}]}}`, msgSaveFailed, []string{"rateLimits", "rules", "1", "label"}, "validation_conflicting_rate_limit_rule"},
		{"excluded ip", `{"rateLimits":{"excludedIPs":["1.2.3.4","nope"]}}`, msgSaveFailed, []string{"rateLimits", "excludedIPs", "1"}, "validation_invalid_ip"},
		{"superuser ip", `{"superuserIPs":["300.1.1.1"]}`, msgSaveFailed, []string{"superuserIPs", "0"}, "validation_invalid_ip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := testStore(t)
			s := newService(t, st)
			before, _ := json.Marshal(s.Get())
			_, err := s.Update(context.Background(), []byte(tt.patch))
			e := apperr.As(err)
			if e == nil || e.Code != apperr.Invalid {
				t.Fatalf("Update(%s) error = %v, want invalid", tt.patch, err)
			}
			if e.Message != tt.message {
				t.Fatalf("message = %q, want %q", e.Message, tt.message)
			}
			if tt.path != nil {
				var node any = e.Data
				for _, key := range tt.path {
					m, ok := node.(map[string]any)
					if !ok {
						t.Fatalf("data %v has no %v", e.Data, tt.path)
					}
					node = m[key]
				}
				f, ok := node.(apperr.Field)
				if !ok || f.Code != tt.code {
					t.Fatalf("data at %v = %#v, want code %s (data %v)", tt.path, node, tt.code, e.Data)
				}
				if f.Message == "" {
					t.Fatalf("problem at %v has no message", tt.path)
				}
			}
			after, _ := json.Marshal(s.Get())
			if string(before) != string(after) {
				t.Fatalf("a rejected update changed the settings")
			}
			if _, err := st.Param(context.Background(), ParamKey); apperr.CodeOf(err) != apperr.NotFound {
				t.Fatalf("a rejected update was persisted (err %v)", err)
			}
		})
	}
}

func TestUpdateAcceptsValidValues(t *testing.T) {
	t.Parallel()
	patches := []string{
		``, `{}`, `{"meta":null}`, `{"unknown":1}`,
		`{"meta":{"appURL":"https://example.com/app"}}`,
		`{"meta":{"appURL":"localhost:8090"}}`,
		`{"smtp":{"enabled":true,"host":"10.0.0.1","port":25,"authMethod":"LOGIN","localName":"relay.example.com"}}`,
		`{"backups":{"cron":"0 */6 * * 1-5","cronMaxKeep":7}}`,
		`{"backups":{"cron":"@weekly"}}`,
		`{"rateLimits":{"enabled":true,"excludedIPs":["127.0.0.1","10.0.0.0/8","::1"],"rules":[
			{"label":"POST /api/collections/","maxRequests":1,"duration":1},
			{"label":"users:create","maxRequests":1,"duration":1,"audience":"@guest"},
			{"label":"*:auth","maxRequests":1,"duration":1,"audience":"@guest"},
			{"label":"*:auth","maxRequests":1,"duration":1,"audience":"@auth"},
			{"label":"tag","maxRequests":1,"duration":1}]}}`,
		`{"batch":{"enabled":true,"maxRequests":100,"timeout":10,"maxBodySize":1048576}}`,
		`{"superuserIPs":["192.168.1.0/24","2001:db8::/32"]}`,
	}
	for _, patch := range patches {
		st := testStore(t)
		s := newService(t, st)
		if _, err := s.Update(context.Background(), []byte(patch)); err != nil {
			t.Errorf("Update(%s) = %v, want success", patch, err)
		}
	}
}

func TestReloadSeesOtherWriters(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	a := newService(t, st)
	b := newService(t, st)
	ctx := context.Background()
	if _, err := a.Update(ctx, []byte(`{"meta":{"appName":"From A"}}`)); err != nil {
		t.Fatal(err)
	}
	if got := b.Get().Meta.AppName; got != "Acme" {
		t.Fatalf("b sees %q before Reload, want Acme", got)
	}
	// b's own update merges onto the stored value, not its stale snapshot.
	if _, err := b.Update(ctx, []byte(`{"logs":{"maxDays":1}}`)); err != nil {
		t.Fatal(err)
	}
	if got := b.Get().Meta.AppName; got != "From A" {
		t.Fatalf("b's update lost A's change: appName %q", got)
	}
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if got := a.Get().Logs.MaxDays; got != 1 {
		t.Fatalf("a after Reload: maxDays %d, want 1", got)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	s := newService(t, testStore(t))
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			patch := `{"logs":{"maxDays":` + string(rune('1'+i)) + `}}`
			if _, err := s.Update(ctx, []byte(patch)); err != nil {
				t.Errorf("Update: %v", err)
			}
			_ = s.Get()
			_ = s.Public()
		})
	}
	wg.Wait()
}

// failingStore fails every transaction.
type failingStore struct{ *memStore }

func (failingStore) InTx(context.Context, func(store.Tx) error) error {
	return errors.New("disk on fire")
}

func TestUpdateStoreFailureIsInternal(t *testing.T) {
	t.Parallel()
	s := newService(t, failingStore{newMemStore()})
	_, err := s.Update(context.Background(), []byte(`{"meta":{"appName":"x"}}`))
	if apperr.CodeOf(err) != apperr.Internal {
		t.Fatalf("error = %v, want internal", err)
	}
	if s.Get().Meta.AppName != "Acme" {
		t.Fatal("a failed save changed the snapshot")
	}
}

func TestNewLoadErrors(t *testing.T) {
	t.Parallel()
	st := testStore(t)
	setParam(t, st, `not json`)
	if _, err := New(context.Background(), st); err == nil {
		t.Fatal("New with a corrupt stored value succeeded")
	}
	// Stored settings written before a key existed get its default.
	setParam(t, st, `{"meta":{"appName":"Old"}}`)
	s, err := New(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Get(); got.Meta.AppName != "Old" || got.Batch.MaxRequests != 50 || len(got.RateLimits.Rules) != 4 {
		t.Fatalf("got %+v", got)
	}
}

func FuzzUpdate(f *testing.F) {
	for _, seed := range []string{`{}`, `{"meta":{"appName":"x"}}`, `{"rateLimits":{"rules":[{"label":"x"}]}}`,
		`{"backups":{"cron":"* * * * *"}}`, `[]`, `{"batch":{"timeout":1e400}}`, `{"smtp":{"port":-1}}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, patch []byte) {
		s := newService(t, newMemStore())
		got, err := s.Update(context.Background(), patch)
		if err != nil {
			if apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("Update(%q) = %v, want invalid or success", patch, err)
			}
			return
		}
		if err := s.Get().Validate(); err != nil {
			t.Fatalf("accepted settings fail validation: %v", err)
		}
		if _, err := json.Marshal(got); err != nil {
			t.Fatalf("cannot encode accepted settings: %v", err)
		}
	})
}

// TestUpdateTouchesConfig checks that a saved change tells other replicas
// to reload (store.ConfigSettings) and a refused one does not.
func TestUpdateTouchesConfig(t *testing.T) {
	ctx := context.Background()
	st := newMemStore()
	s, err := New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, []byte(`{"meta":{"appName":"One"}}`)); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if _, err := s.Update(ctx, []byte(`{"meta":{"appName":""}}`)); err == nil {
		t.Fatalf("Update with an empty app name: want an error")
	}
	got, _ := st.Param(ctx, "touched."+string(store.ConfigSettings))
	if string(got) != "+" {
		t.Errorf("settings touches: got %q, want one", got)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
