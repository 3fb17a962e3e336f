package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// checkpointEvery is the shortest time between two checkpoints while
// commits keep coming.
const checkpointEvery = 250 * time.Millisecond

// checkpointer copies committed pages from the WAL back into the database
// file on a connection of its own. SQLite's automatic checkpoint runs in the
// connection that commits, inside COMMIT: with one writer, every commit
// behind it waited for the copy and its fsync. Here the writer has automatic
// checkpoints off (wal_autocheckpoint 0), and a PASSIVE checkpoint, which
// never blocks the writer or readers, runs at most every checkpointEvery
// after a commit. Once a checkpoint has copied everything and no reader
// still needs the old frames, SQLite starts the WAL over at the next write,
// so it does not grow while checkpoints keep up.
type checkpointer struct {
	db   *sql.DB
	wake chan struct{}
	stop context.CancelFunc
	done chan struct{}
}

// startCheckpointer opens the checkpoint connection of the database at path
// and starts checkpointing.
func (s *Store) startCheckpointer(path string) error {
	db, err := sql.Open("sqlite", dsn(path, s.opts.checkpointPragmas()))
	if err != nil {
		return fmt.Errorf("opening sqlite checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, wake: make(chan struct{}, 1), stop: stop, done: make(chan struct{})}
	s.ckpt = c
	go s.checkpointLoop(ctx, c)
	return nil
}

// committed tells the checkpointer that the WAL grew.
func (c *checkpointer) committed() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (s *Store) checkpointLoop(ctx context.Context, c *checkpointer) {
	defer close(c.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		if err := s.checkpoint(ctx, c.db); err != nil && ctx.Err() == nil {
			s.logger.Warn("sqlite checkpoint failed", "err", err)
		}
		t := time.NewTimer(checkpointEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// checkpoint runs one PASSIVE checkpoint.
func (s *Store) checkpoint(ctx context.Context, db *sql.DB) error {
	var busy, log, copied int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied); err != nil {
		return err
	}
	return nil
}

// close stops checkpointing and closes the connection; SQLite's own
// checkpoint when the last connection closes finishes the work.
func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	return c.db.Close()
}
