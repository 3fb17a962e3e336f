package record

import "sync/atomic"

// maxMemoViews bounds the encodings a Memo keeps: a record is seen in a
// handful of ways (guest, owner, superuser), never in many.
const maxMemoViews = 4

// A Memo keeps encodings of one record the read cache holds, one per view
// of it (Exporter.View), so that a transport encodes a hot record once
// rather than once per request. It lives exactly as long as the cached
// record: a write drops both. Reads take no lock.
type Memo struct {
	views atomic.Pointer[[]memoEntry]
}

type memoEntry struct {
	view uint64
	data []byte
}

// Load returns the encoding kept for view, or nil. The caller must not
// modify it.
func (m *Memo) Load(view uint64) []byte {
	if p := m.views.Load(); p != nil {
		for _, e := range *p {
			if e.view == view {
				return e.data
			}
		}
	}
	return nil
}

// Store keeps data as the encoding for view; data must not be modified
// afterwards. A full Memo keeps what it has.
func (m *Memo) Store(view uint64, data []byte) {
	for {
		old := m.views.Load()
		var entries []memoEntry
		if old != nil {
			if len(*old) >= maxMemoViews {
				return
			}
			for _, e := range *old {
				if e.view == view {
					return
				}
			}
			entries = append(entries, *old...)
		}
		entries = append(entries, memoEntry{view, data})
		if m.views.CompareAndSwap(old, &entries) {
			return
		}
	}
}
