// Package logs is Basalt's log service: a log/slog handler that stamps every
// record with the request id carried by its context and copies the records
// (request log lines and application warnings and errors) into the log
// database in batches, from a bounded queue that drops and counts entries
// rather than ever blocking the caller; and the reads behind PocketBase's
// /api/logs endpoints, with retention by the logs.maxDays setting.
//
// logs imports the storage port, the settings service and leaf packages; never
// adapters or transports.
package logs
