package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/basalt-dev/basalt/internal/schema"
)

// AuditLog is the read side of the audit log, the append-only, hash-chained
// record of superuser actions and auth events (see Tx.AppendAudit).
type AuditLog interface {
	// AuditEntries returns the entries matching q, in seq order (newest
	// first when q.Desc), at most q.Limit of them (limit <= 0 means 100).
	AuditEntries(ctx context.Context, q *AuditQuery) ([]*AuditEntry, error)
	// CountAudit returns how many entries match q (ignoring Limit, Offset).
	CountAudit(ctx context.Context, q *AuditQuery) (int64, error)
}

// AuditHeadParam is the params key under which AppendAudit keeps the chain
// head (AuditHead as JSON) in the same transaction as the entry, so that
// deleting the newest entries is detected.
const AuditHeadParam = "auditHead"

// AuditGuest is the actor id of an entry made by an unauthenticated caller.
const AuditGuest = "guest"

// AuditEntry is one entry of the audit log. Detail is a JSON document that
// never holds a secret (password, token, key).
type AuditEntry struct {
	// Seq numbers entries 1, 2, 3… without gaps; the engine assigns it.
	Seq  int64
	Time time.Time
	// ActorCollection and ActorID name the auth record that acted. ActorID
	// is AuditGuest (ActorCollection empty) for an unauthenticated caller;
	// both are empty for Basalt itself (a command, a background job).
	ActorCollection string
	ActorID         string
	IP              string
	// Action is a dotted name such as "collection.create" or "auth.password.fail".
	Action string
	// Target names what the action was about ("posts", a record id…).
	Target string
	Detail json.RawMessage
	// PrevHash is the Hash of the entry before (empty for the first), Hash
	// the hex SHA-256 of the entry's canonical encoding (see ComputeHash);
	// the engine sets both.
	PrevHash string
	Hash     string
}

// AuditHead is the newest entry's seq and hash (zero for an empty log).
type AuditHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

// AuditQuery selects audit entries. Zero fields select everything.
type AuditQuery struct {
	// Seq selects the one entry with that seq.
	Seq int64
	// AfterSeq selects entries with a higher seq.
	AfterSeq int64
	// Action selects entries whose action equals it or starts with it
	// followed by a dot ("collection" matches "collection.create").
	Action string
	// ActorID selects the entries of one actor.
	ActorID string
	// Since and Until bound the entry time (inclusive, exclusive).
	Since, Until  time.Time
	Limit, Offset int
	Desc          bool
}

// ComputeHash returns the hex SHA-256 of e's canonical encoding: every
// field but Hash, in a fixed order, each as its decimal byte length, a
// colon and its bytes, so that no two different entries encode alike. The
// time is taken at Basalt's millisecond precision, as stored.
func (e *AuditEntry) ComputeHash() string {
	h := sha256.New()
	var buf []byte
	for _, f := range []string{
		"basalt-audit-v1",
		strconv.FormatInt(e.Seq, 10),
		schema.FormatTime(e.Time),
		e.ActorCollection,
		e.ActorID,
		e.IP,
		e.Action,
		e.Target,
		string(e.Detail),
		e.PrevHash,
	} {
		buf = strconv.AppendInt(buf[:0], int64(len(f)), 10)
		buf = append(buf, ':')
		buf = append(buf, f...)
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil))
}
