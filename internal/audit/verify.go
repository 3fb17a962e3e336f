package audit

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/store"
)

// Reader is what Verify reads: the entries and the head param.
type Reader interface {
	store.AuditLog
	Param(ctx context.Context, key string) ([]byte, error)
}

// Break is the first place where the stored chain differs from what was
// appended. It is an error.
type Break struct {
	// Seq is the entry at fault (for a missing tail, the head's seq).
	Seq    int64
	Reason string
}

func (b *Break) Error() string { return fmt.Sprintf("audit entry %d: %s", b.Seq, b.Reason) }

// verifyBatch is how many entries Verify reads at a time.
const verifyBatch = 1000

// Verify walks the whole chain and returns how many entries it holds. It
// returns a *Break for the first entry that was altered (its hash does not
// match its content), inserted or deleted (the seq or the link to the
// previous hash does not follow), or when the newest entries were deleted
// (the head param names an entry that is gone) or the head is missing. Other
// errors are read failures.
func Verify(ctx context.Context, r Reader) (int64, error) {
	var (
		n    int64
		prev string
	)
	for {
		batch, err := r.AuditEntries(ctx, &store.AuditQuery{AfterSeq: n, Limit: verifyBatch})
		if err != nil {
			return n, fmt.Errorf("reading the audit log: %w", err)
		}
		for _, e := range batch {
			switch {
			case e.Seq != n+1:
				return n, &Break{Seq: n + 1, Reason: fmt.Sprintf("missing: the next stored entry is %d (deleted entries)", e.Seq)}
			case e.PrevHash != prev:
				return n, &Break{Seq: e.Seq, Reason: "its previous hash does not match the entry before (inserted or replaced entry)"}
			case e.ComputeHash() != e.Hash:
				return n, &Break{Seq: e.Seq, Reason: "its content does not match its hash (altered entry)"}
			}
			n, prev = e.Seq, e.Hash
		}
		if len(batch) < verifyBatch {
			break
		}
	}
	raw, err := r.Param(ctx, store.AuditHeadParam)
	if apperr.CodeOf(err) == apperr.NotFound {
		if n == 0 {
			return 0, nil
		}
		return n, &Break{Seq: n, Reason: "the chain head record is missing"}
	}
	if err != nil {
		return n, fmt.Errorf("reading the audit head: %w", err)
	}
	var head store.AuditHead
	if err := json.Unmarshal(raw, &head); err != nil {
		return n, &Break{Seq: n, Reason: "the chain head record is unreadable"}
	}
	switch {
	case head.Seq > n:
		return n, &Break{Seq: n + 1, Reason: fmt.Sprintf("missing: the chain head names entry %d but the log ends at %d (deleted newest entries)", head.Seq, n)}
	case head.Seq < n:
		return n, &Break{Seq: head.Seq + 1, Reason: fmt.Sprintf("the chain head names entry %d but the log goes on to %d (appended entries)", head.Seq, n)}
	case head.Hash != prev:
		return n, &Break{Seq: n, Reason: "the newest entry does not match the chain head (altered or replaced entry)"}
	}
	return n, nil
}
