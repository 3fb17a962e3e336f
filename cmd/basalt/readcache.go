package main

import (
	"flag"
	"fmt"
	"strconv"

	"github.com/basalt-dev/basalt/internal/record"
)

// defaultReadCache is how many records the read cache holds by default:
// about 10 MiB for records of a kilobyte.
const defaultReadCache = 10000

// readCacheFlag registers --read-cache (env BASALT_READ_CACHE) into n.
func readCacheFlag(fs *flag.FlagSet, getenv func(string) string, n *int) error {
	*n = defaultReadCache
	if v := getenv("BASALT_READ_CACHE"); v != "" {
		parsed, err := strconv.Atoi(v)
		if err != nil || parsed < 0 {
			return fmt.Errorf("BASALT_READ_CACHE: want a number of records (0: off), got %q", v)
		}
		*n = parsed
	}
	fs.IntVar(n, "read-cache", *n, "records kept in memory for repeated public views and list pages (SQLite only; 0: off; env BASALT_READ_CACHE)")
	return nil
}

// enableReadCache gives the record service a read cache of n records when
// the store counts its writes (SQLite, served by this process alone).
func enableReadCache(a *app, n int) {
	if n > 0 && a.version != nil {
		a.records.Cache = record.NewReadCache(a.version, n)
	}
}
