package settings

import "github.com/basalt-dev/basalt/internal/cron"

// checkCron reports whether expr is a schedule the scheduler accepts (see
// package cron).
func checkCron(expr string) error {
	_, err := cron.Parse(expr)
	return err
}
