// Package logdb is the SQLite log database (PocketBase's auxiliary.db and
// its _logs table): request and application log entries, kept apart from
// the data database so that writing logs never contends with record writes.
// Filters and sorts compile through sqlfilter against a synthetic schema of
// the log table.
//
// logdb is an adapter: it implements store.LogStore and imports the storage
// port, the domain model, sqlfilter and leaf packages; never services or
// transports.
package logdb

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/filter"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/sqlfilter"
	"github.com/basalt-dev/basalt/internal/store"
)

const table = `"_logs"`

var _ store.LogStore = (*DB)(nil)

// DB is an open log database.
type DB struct {
	db      *sql.DB
	filters *filter.Cache
	coll    *schema.Collection

	mu sync.Mutex
	// inserts[i] inserts 1<<i rows.
	inserts [9]*sql.Stmt // 1<<8 == maxChunk
}

// Open opens (creating if needed) the log database at path.
func Open(ctx context.Context, path string) (*DB, error) {
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "temp_store(MEMORY)", "journal_size_limit(100000000)"} {
		q.Add("_pragma", p)
	}
	u := url.URL{Scheme: "file", Opaque: strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path), RawQuery: q.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("opening log database: %w", err)
	}
	// Writes come from one batch writer; a few readers serve the API.
	db.SetMaxOpenConns(4)
	d := &DB{db: db, filters: filter.NewCache(256), coll: logCollection()}
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS "_logs" (
			"id"      TEXT PRIMARY KEY NOT NULL,
			"level"   INTEGER NOT NULL DEFAULT 0,
			"message" TEXT NOT NULL DEFAULT '',
			"data"    JSON NOT NULL DEFAULT '{}',
			"created" TEXT NOT NULL
		)`,
		`CREATE INDEX IF NOT EXISTS "idx_logs_level" ON "_logs" ("level")`,
		// No index on "message": request messages hold record ids, so each
		// insert landed on a random page of it, which cost a large share of
		// every request's CPU, while filters on messages are mostly "~"
		// (LIKE), which no index serves.
		`DROP INDEX IF EXISTS "idx_logs_message"`,
		`CREATE INDEX IF NOT EXISTS "idx_logs_created" ON "_logs" ("created")`,
		// No index on the hour of "created" either: LogStats counts each
		// hour as a range of idx_logs_created, and that index cost every
		// request about a fifth of its log write.
		`DROP INDEX IF EXISTS "idx_logs_created_hour"`,
		`DROP INDEX IF EXISTS "idx_logs_hour"`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return nil, fmt.Errorf("creating the log table: %w", err)
		}
	}
	return d, nil
}

// Close closes the database.
func (d *DB) Close() error {
	d.mu.Lock()
	for _, st := range d.inserts {
		if st != nil {
			st.Close()
		}
	}
	d.mu.Unlock()
	return d.db.Close()
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// logCollection describes the log table to the filter compiler.
func logCollection() *schema.Collection {
	return &schema.Collection{ID: "_logs", Name: "_logs", Type: "base", System: true, Fields: []*schema.Field{
		// rowid orders entries as written; PocketBase's admin UI sorts by it.
		{ID: "rowid", Name: "rowid", Type: schema.TypeNumber, System: true, OnlyInt: true},
		{ID: "id", Name: "id", Type: schema.TypeText, System: true, PrimaryKey: true},
		{ID: "created", Name: "created", Type: schema.TypeDate, System: true},
		{ID: "level", Name: "level", Type: schema.TypeNumber, System: true, OnlyInt: true},
		{ID: "message", Name: "message", Type: schema.TypeText, System: true},
		{ID: "data", Name: "data", Type: schema.TypeJSON, System: true},
	}}
}

// maxChunk is the most rows one INSERT statement carries (a power of two):
// few statements per batch, since a statement's fixed cost dominates a
// row's, and well under SQLite's bound-parameter limit.
const maxChunk = 256

// insertStmt returns the prepared INSERT of n rows, n a power of two up to
// maxChunk, preparing it once.
func (d *DB) insertStmt(ctx context.Context, n int) (*sql.Stmt, error) {
	i := bits.TrailingZeros(uint(n))
	d.mu.Lock()
	defer d.mu.Unlock()
	if st := d.inserts[i]; st != nil {
		return st, nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO "_logs" ("id", "level", "message", "data", "created") VALUES `)
	for j := range n {
		if j > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?)")
	}
	st, err := d.db.PrepareContext(ctx, b.String())
	if err != nil {
		return nil, err
	}
	d.inserts[i] = st
	return st, nil
}

// InsertLogs appends logs in one transaction, with prepared multi-row
// INSERTs of power-of-two sizes (at most nine per batch beyond the full
// ones).
func (d *DB) InsertLogs(ctx context.Context, logs []*store.Log) error {
	if len(logs) == 0 {
		return nil
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return internal("starting a log batch", err)
	}
	defer tx.Rollback()
	args := make([]any, 0, 5*min(len(logs), maxChunk))
	for len(logs) > 0 {
		n := min(maxChunk, 1<<(bits.Len(uint(len(logs)))-1)) // the largest power of two that fits
		chunk := logs[:n]
		logs = logs[n:]
		args = args[:0]
		for _, l := range chunk {
			data := "{}"
			switch {
			case l.DataJSON != nil:
				data = string(l.DataJSON)
			case len(l.Data) > 0:
				b, err := json.Marshal(l.Data)
				if err != nil {
					return internal("encoding log data", err)
				}
				data = string(b)
			}
			args = append(args, l.ID, l.Level, l.Message, data, schema.FormatTime(l.Created))
		}
		st, err := d.insertStmt(ctx, n)
		if err != nil {
			return internal("preparing a log insert", err)
		}
		if _, err := tx.StmtContext(ctx, st).ExecContext(ctx, args...); err != nil {
			return internal("inserting logs", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return internal("committing a log batch", err)
	}
	return nil
}

// compile turns a client's filter and sort into SQL over the log table.
// Rows that tie sort by row id, in the direction of the last sort key.
func (d *DB) compile(filterSrc, sortSrc string) (q *sqlfilter.Query, tiebreak string, err error) {
	var in sqlfilter.Input
	if strings.TrimSpace(filterSrc) != "" {
		if in.Client, err = d.filters.Parse(filterSrc); err != nil {
			return nil, "", invalid("filter", err)
		}
	}
	tiebreak = table + "._rowid_ DESC"
	if strings.TrimSpace(sortSrc) != "" {
		if in.Sort, err = filter.ParseSort(sortSrc); err != nil {
			return nil, "", invalid("sort", err)
		}
		if len(in.Sort) > 0 && !in.Sort[len(in.Sort)-1].Desc {
			tiebreak = table + "._rowid_"
		}
	}
	if in.Client == nil && len(in.Sort) == 0 {
		return &sqlfilter.Query{}, tiebreak, nil
	}
	src := &sqlfilter.Source{
		Collection:  d.coll,
		Lookup:      func(string) *schema.Collection { return nil },
		AllowHidden: true, // only superusers read logs
	}
	q, err = sqlfilter.Compile(sqlfilter.SQLite{}, src, sqlfilter.Options{Table: table}, in)
	if err != nil {
		return nil, "", invalid("filter or sort", err)
	}
	return q, tiebreak, nil
}

// Logs returns a page of logs, newest first by default.
func (d *DB) Logs(ctx context.Context, q store.LogQuery) ([]*store.Log, int64, error) {
	cq, tiebreak, err := d.compile(q.Filter, q.Sort)
	if err != nil {
		return nil, 0, err
	}
	where := ""
	if cq.Where != "" {
		where = " WHERE " + cq.Where
	}
	order := table + `."created" DESC, ` + table + `._rowid_ DESC`
	if cq.OrderBy != "" {
		order = cq.OrderBy + ", " + tiebreak
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 30
	}
	args := cq.Args
	n := len(args)
	query := `SELECT "id", "level", "message", "data", "created" FROM ` + table + where + " ORDER BY " + order +
		" LIMIT ?" + strconv.Itoa(n+1) + " OFFSET ?" + strconv.Itoa(n+2)
	rows, err := d.db.QueryContext(ctx, query, append(append([]any{}, args...), limit, max(q.Offset, 0))...)
	if err != nil {
		return nil, 0, internal("listing logs", err)
	}
	defer rows.Close()
	var list []*store.Log
	for rows.Next() {
		l, err := scan(rows)
		if err != nil {
			return nil, 0, err
		}
		list = append(list, l)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, internal("listing logs", err)
	}
	total := int64(-1)
	if !q.SkipTotal {
		if err := d.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+where, args...).Scan(&total); err != nil {
			return nil, 0, internal("counting logs", err)
		}
	}
	return list, total, nil
}

// Log returns the entry with id.
func (d *DB) Log(ctx context.Context, id string) (*store.Log, error) {
	row := d.db.QueryRowContext(ctx, `SELECT "id", "level", "message", "data", "created" FROM `+table+` WHERE "id" = ?`, id)
	l, err := scan(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, apperr.New(apperr.NotFound, "")
	}
	return l, err
}

// maxStatHours bounds the hours LogStats counts one by one (a year).
// Entries spread wider (a clock that jumped) are grouped in one scan.
const maxStatHours = 366 * 24

// hourLayout is an hour as LogStats groups by it: the first 13 characters
// of a stored "created" value.
const hourLayout = "2006-01-02 15"

// LogStats counts the entries matching filterSrc per hour, oldest first;
// hours without entries are left out. Every hour from the oldest entry's
// to the newest's is counted as a range of idx_logs_created.
func (d *DB) LogStats(ctx context.Context, filterSrc string) ([]store.LogStat, error) {
	cq, _, err := d.compile(filterSrc, "")
	if err != nil {
		return nil, err
	}
	var first, last sql.NullString
	if err := d.db.QueryRowContext(ctx, `SELECT substr(min("created"), 1, 13), substr(max("created"), 1, 13) FROM `+table).Scan(&first, &last); err != nil {
		return nil, internal("counting logs per hour", err)
	}
	if !first.Valid {
		return []store.LogStat{}, nil
	}
	from, err1 := time.Parse(hourLayout, first.String)
	to, err2 := time.Parse(hourLayout, last.String)
	query, args := "", cq.Args
	if err1 == nil && err2 == nil && to.Sub(from) <= maxStatHours*time.Hour {
		and := ""
		if cq.Where != "" {
			and = " AND (" + cq.Where + ")"
		}
		// "hours" holds every hour from the first to the last and the
		// hour after each, as stored "created" prefixes.
		next := func(hour string) string { return `strftime('%Y-%m-%d %H', ` + hour + ` || ':00:00', '+1 hour')` }
		firstArg, lastArg := "?"+strconv.Itoa(len(args)+1), "?"+strconv.Itoa(len(args)+2)
		query = `WITH RECURSIVE "hours"("h", "next") AS (SELECT ` + firstArg + `, ` + next(firstArg) +
			` UNION ALL SELECT "next", ` + next(`"next"`) + ` FROM "hours" WHERE "next" <= ` + lastArg + `)
			SELECT "h", (SELECT COUNT(*) FROM ` + table + ` WHERE "created" >= "h" AND "created" < "next"` + and + `) FROM "hours"`
		args = append(args, first.String, last.String)
	} else {
		where := ""
		if cq.Where != "" {
			where = " WHERE " + cq.Where
		}
		query = `SELECT substr("created", 1, 13) AS "hour", COUNT(*) FROM ` + table + where + ` GROUP BY "hour" ORDER BY "hour"`
	}
	rows, err := d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, internal("counting logs per hour", err)
	}
	defer rows.Close()
	stats := []store.LogStat{}
	for rows.Next() {
		var hour sql.NullString
		var s store.LogStat
		if err := rows.Scan(&hour, &s.Total); err != nil {
			return nil, internal("reading log stats", err)
		}
		t, err := time.Parse(hourLayout, hour.String)
		if err != nil || s.Total == 0 {
			continue // an unparsable created value, or an hour without entries
		}
		s.Date = t
		stats = append(stats, s)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("reading log stats", err)
	}
	return stats, nil
}

// PruneLogs deletes the entries created before cutoff.
func (d *DB) PruneLogs(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE "created" < ?`, schema.FormatTime(cutoff))
	if err != nil {
		return 0, internal("pruning logs", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// DeleteLogs deletes every entry.
func (d *DB) DeleteLogs(ctx context.Context) error {
	if _, err := d.db.ExecContext(ctx, `DELETE FROM `+table); err != nil {
		return internal("deleting logs", err)
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scan(s scanner) (*store.Log, error) {
	var l store.Log
	var data, created string
	if err := s.Scan(&l.ID, &l.Level, &l.Message, &data, &created); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, internal("reading a log", err)
	}
	if err := json.Unmarshal([]byte(data), &l.Data); err != nil || l.Data == nil {
		l.Data = map[string]any{}
	}
	l.Created, _ = schema.ParseTime(created)
	return &l, nil
}

func invalid(what string, err error) error {
	var fe *filter.Error
	var ce *sqlfilter.Error
	if errors.As(err, &fe) || errors.As(err, &ce) {
		return apperr.Wrap(apperr.Invalid, "Invalid "+what+": "+err.Error()+".", err)
	}
	return apperr.Wrap(apperr.Invalid, "Invalid "+what+".", err)
}

func internal(doing string, err error) error {
	return apperr.Wrap(apperr.Internal, "", fmt.Errorf("%s: %w", doing, err))
}
