// Package schema is Basalt's domain model: collections, their fields, and
// records. It knows how each field type normalizes and validates a value and
// how collections and fields are encoded as JSON, but nothing about storage
// or transports.
//
// schema may import only leaf packages (apperr, filter); never services,
// adapters or transports.
package schema
