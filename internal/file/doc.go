// Package file is Basalt's file service: it names, validates, stores,
// deletes and serves the files of "file" fields, and makes thumbnails of
// images, keeping every object at <collectionId>/<recordId>/<name> in a
// blob.Store (thumbnails at <collectionId>/<recordId>/thumbs_<name>/<size>_<name>).
//
// The record service decides which files a record keeps and calls this
// package to put bytes in storage; transports call Serve and ServeThumb for
// GET /api/files/{collection}/{record}/{filename} after the access checks.
//
// file imports leaf packages (apperr, random), schema and the blob port;
// never adapters, other services or transports.
package file
