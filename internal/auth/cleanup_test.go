package auth_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/random"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/store/sqlite"
)

func TestCleanupExpiredRows(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "data.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cols, err := collection.New(ctx, st, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	svc := auth.New(st, cols, record.New(st, cols, nil, time.Now, random.ID), func() time.Time { return now })
	users := cols.Lookup("users")
	otpTTL, mfaTTL := time.Duration(users.OTP.Duration)*time.Second, time.Duration(users.MFA.Duration)*time.Second
	rows := []struct {
		system string
		id     string
		age    time.Duration
	}{
		{schema.OTPsID, "otpold000000000", otpTTL + time.Second}, {schema.OTPsID, "otpnew000000000", otpTTL - time.Second},
		{schema.MFAsID, "mfaold000000000", mfaTTL + time.Second}, {schema.MFAsID, "mfanew000000000", mfaTTL - time.Second},
	}
	err = st.InTx(ctx, func(tx store.Tx) error {
		for _, r := range rows {
			c := cols.Lookup(r.system)
			rec := schema.NewRecord(c)
			created := schema.FormatTime(now.Add(-r.age))
			rec.Data["id"], rec.Data["created"], rec.Data["updated"] = r.id, created, created
			rec.Data["collectionRef"], rec.Data["recordRef"] = users.ID, "u1"
			if r.system == schema.OTPsID {
				rec.Data["password"] = "x"
			} else {
				rec.Data["method"] = "password"
			}
			if err := tx.InsertRecord(ctx, rec); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := svc.CleanupOTPs(ctx); err != nil || n != 1 {
		t.Errorf("CleanupOTPs = %d, %v; want 1", n, err)
	}
	if n, err := svc.CleanupMFAs(ctx); err != nil || n != 1 {
		t.Errorf("CleanupMFAs = %d, %v; want 1", n, err)
	}
	for _, r := range rows {
		got, err := st.FindRecords(ctx, &store.Query{Collection: cols.Lookup(r.system), IDs: []string{r.id}})
		if err != nil {
			t.Fatal(err)
		}
		ttl := otpTTL
		if r.system == schema.MFAsID {
			ttl = mfaTTL
		}
		if want := r.age < ttl; (len(got) == 1) != want {
			t.Errorf("%s after cleanup: present %v, want %v", r.id, len(got) == 1, want)
		}
	}
}
