package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/store"
)

// The audit log lives in the "_audit" system table. SQLite has one writer,
// so reading the newest entry and inserting the next one inside a write
// transaction keeps the chain linear: no other append can come between.

// auditMigration creates the audit table.
var auditMigration = systemMigration{
	name: "0007_audit",
	sql: []string{`CREATE TABLE "_audit" (
			"seq"             INTEGER PRIMARY KEY NOT NULL,
			"created"         TEXT NOT NULL,
			"actorCollection" TEXT NOT NULL,
			"actorId"         TEXT NOT NULL,
			"ip"              TEXT NOT NULL,
			"action"          TEXT NOT NULL,
			"target"          TEXT NOT NULL,
			"detail"          TEXT NOT NULL,
			"prevHash"        TEXT NOT NULL,
			"hash"            TEXT NOT NULL
		)`,
		`CREATE INDEX "_audit_action" ON "_audit" ("action", "seq")`,
		`CREATE INDEX "_audit_actor" ON "_audit" ("actorId", "seq")`},
}

const auditColumns = `"seq", "created", "actorCollection", "actorId", "ip", "action", "target", "detail", "prevHash", "hash"`

// AppendAudit chains e to the newest entry, inserts it and moves the head
// param, all within the transaction.
func (t *tx) AppendAudit(ctx context.Context, e *store.AuditEntry) error {
	if e == nil || e.Action == "" {
		return apperr.New(apperr.Invalid, "Incomplete audit entry.")
	}
	if len(e.Detail) == 0 {
		e.Detail = json.RawMessage(`{}`)
	}
	if !json.Valid(e.Detail) {
		return apperr.New(apperr.Invalid, "Audit detail is not valid JSON.")
	}
	var head store.AuditHead
	err := t.conn.QueryRowContext(ctx, `SELECT "seq", "hash" FROM "_audit" ORDER BY "seq" DESC LIMIT 1`).Scan(&head.Seq, &head.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return formatError(ctx, fmt.Errorf("reading the audit head: %w", err))
	}
	e.Seq, e.PrevHash = head.Seq+1, head.Hash
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	e.Hash = e.ComputeHash()
	if _, err := t.conn.execRow(ctx, `INSERT INTO "_audit" (`+auditColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, schema.FormatTime(e.Time), e.ActorCollection, e.ActorID, e.IP, e.Action, e.Target,
		string(e.Detail), e.PrevHash, e.Hash); err != nil {
		return formatError(ctx, fmt.Errorf("appending audit entry: %w", err))
	}
	doc, err := json.Marshal(store.AuditHead{Seq: e.Seq, Hash: e.Hash})
	if err != nil {
		return internalf("encoding the audit head: %v", err)
	}
	return t.SetParam(ctx, store.AuditHeadParam, doc)
}

// AuditEntries returns the entries matching q.
func (s *Store) AuditEntries(ctx context.Context, q *store.AuditQuery) ([]*store.AuditEntry, error) {
	where, args := auditWhere(q)
	order := "ASC"
	if q.Desc {
		order = "DESC"
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	args = append(args, limit, max(q.Offset, 0))
	rows, err := s.read.QueryContext(ctx, `SELECT `+auditColumns+` FROM "_audit"`+where+` ORDER BY "seq" `+order+` LIMIT ? OFFSET ?`, args...)
	if err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading audit entries: %w", err))
	}
	defer rows.Close()
	out := []*store.AuditEntry{}
	for rows.Next() {
		var (
			e               store.AuditEntry
			created, detail string
		)
		if err := rows.Scan(&e.Seq, &created, &e.ActorCollection, &e.ActorID, &e.IP, &e.Action, &e.Target, &detail, &e.PrevHash, &e.Hash); err != nil {
			return nil, formatError(ctx, fmt.Errorf("reading audit entry: %w", err))
		}
		t, ok := schema.ParseTime(created)
		if !ok {
			return nil, internalf("audit entry %d has an invalid time %q", e.Seq, created)
		}
		e.Time, e.Detail = t, json.RawMessage(detail)
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, formatError(ctx, fmt.Errorf("reading audit entries: %w", err))
	}
	return out, nil
}

// CountAudit returns how many entries match q.
func (s *Store) CountAudit(ctx context.Context, q *store.AuditQuery) (int64, error) {
	where, args := auditWhere(q)
	var n int64
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM "_audit"`+where, args...).Scan(&n); err != nil {
		return 0, formatError(ctx, fmt.Errorf("counting audit entries: %w", err))
	}
	return n, nil
}

// auditWhere compiles q's conditions.
func auditWhere(q *store.AuditQuery) (string, []any) {
	var (
		conds []string
		args  []any
	)
	if q.Seq > 0 {
		conds, args = append(conds, `"seq" = ?`), append(args, q.Seq)
	}
	if q.AfterSeq > 0 {
		conds, args = append(conds, `"seq" > ?`), append(args, q.AfterSeq)
	}
	if q.Action != "" {
		conds = append(conds, `("action" = ? OR substr("action", 1, ?) = ?)`)
		args = append(args, q.Action, len(q.Action)+1, q.Action+".")
	}
	if q.ActorID != "" {
		conds, args = append(conds, `"actorId" = ?`), append(args, q.ActorID)
	}
	if !q.Since.IsZero() {
		conds, args = append(conds, `"created" >= ?`), append(args, schema.FormatTime(q.Since))
	}
	if !q.Until.IsZero() {
		conds, args = append(conds, `"created" < ?`), append(args, schema.FormatTime(q.Until))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}
