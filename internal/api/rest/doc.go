// Package rest is Basalt's PocketBase-compatible REST transport: the /api/
// endpoints with PocketBase's JSON shapes, status codes and error envelope
// ({status, message, data}).
//
// Handlers only decode a request, call a service and encode the result;
// access rules, validation and transactions live in the services. rest
// imports services, the store port and leaf packages, never a storage
// engine or any other adapter (cmd/basalt wires those).
package rest
