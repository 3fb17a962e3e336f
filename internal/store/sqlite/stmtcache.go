package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCacheSize bounds the prepared statements kept for the read pool.
const stmtCacheSize = 256

// stmtCache keeps prepared statements of the read pool by SQL text, so hot
// queries (a record by id, a list page) skip SQLite's parse and plan step.
// database/sql prepares a cached statement again on each pool connection it
// runs on, and again after a schema change. When the cache is full, one
// statement picked at random makes room: hot statements mostly stay, and a
// stream of one-off queries (distinct filters) cannot flush them all at once.
type stmtCache struct {
	db    *sql.DB
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: make(map[string]*sql.Stmt)}
}

// prepared returns the cached statement for query, preparing it if needed.
func (c *stmtCache) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.Lock()
	st, ok := c.stmts[query]
	c.mu.Unlock()
	if ok {
		return st, nil
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cached, ok := c.stmts[query]; ok {
		st.Close() // another goroutine prepared it first
		return cached, nil
	}
	if len(c.stmts) >= stmtCacheSize {
		// Map iteration starts at a random entry. A statement still in use
		// stays valid until its rows are closed: database/sql defers the
		// close.
		for q, old := range c.stmts {
			old.Close()
			delete(c.stmts, q)
			break
		}
	}
	c.stmts[query] = st
	return st, nil
}

// close releases every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		st.Close()
		delete(c.stmts, q)
	}
}

// cachedQuerier runs queries through the statement cache. It serves the
// store's reads outside transactions; writes never go through it.
type cachedQuerier struct {
	*sql.DB
	cache *stmtCache
}

func (q cachedQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := q.cache.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (q cachedQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := q.cache.prepared(ctx, query)
	if err != nil {
		// *sql.Row cannot be built with an error; let the pool report it.
		return q.DB.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
