// Package admin serves Basalt's admin dashboard at /_/: hand-written ES
// modules and one style sheet embedded in the binary with go:embed. There
// is no build step and nothing generated: the files under ui/ are what the
// browser runs.
//
// The dashboard talks to Basalt only through the public API (/api/...),
// with the superuser token it keeps in the browser's localStorage, so this
// package only serves files: it imports no service.
//
// Assets are served under a path that carries a hash of every embedded file
// (/_/a/<hash>/app.js), so they are cached for a year and a new binary's UI
// is fetched at once; the page itself is revalidated on every load (ETag).
// Every answer carries a strict Content-Security-Policy: scripts and styles
// from the same origin only, no inline scripts.
package admin

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed ui
var files embed.FS

// Prefix is where the dashboard is mounted.
const Prefix = "/_/"

// ContentSecurityPolicy is sent with every dashboard answer.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// asset is one embedded file with its validator.
type asset struct {
	body  []byte
	etag  string
	ctype string
}

// Handler serves the dashboard; mount it at Prefix.
type Handler struct {
	version string // hash of every asset, part of the asset URLs
	index   asset
	assets  map[string]asset
}

// New returns the dashboard handler over the embedded files.
func New() *Handler {
	return newHandler(mustSub(files, "ui"))
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the directory is embedded: it exists
	}
	return sub
}

// newHandler reads every file of ui once and hashes them.
func newHandler(ui fs.FS) *Handler {
	h := &Handler{assets: map[string]asset{}}
	all := sha256.New()
	var index []byte
	err := fs.WalkDir(ui, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(ui, p)
		if err != nil {
			return err
		}
		all.Write([]byte(p))
		all.Write(b)
		if p == "index.html" {
			index = b
			return nil
		}
		h.assets[p] = newAsset(p, b)
		return nil
	})
	if err != nil {
		panic(err) // embedded files are readable
	}
	h.version = hex.EncodeToString(all.Sum(nil))[:12]
	page := bytes.ReplaceAll(index, []byte("{{ASSETS}}"), []byte(h.AssetPrefix()))
	h.index = newAsset("index.html", page)
	return h
}

func newAsset(name string, b []byte) asset {
	sum := sha256.Sum256(b)
	ctype := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		ctype = "text/javascript; charset=utf-8"
	case ".css":
		ctype = "text/css; charset=utf-8"
	case ".html":
		ctype = "text/html; charset=utf-8"
	case ".svg":
		ctype = "image/svg+xml"
	}
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return asset{body: b, etag: `"` + hex.EncodeToString(sum[:8]) + `"`, ctype: ctype}
}

// AssetPrefix is the versioned path of the assets ("/_/a/<hash>/").
func (h *Handler) AssetPrefix() string { return Prefix + "a/" + h.version + "/" }

// ServeHTTP answers GET and HEAD under Prefix: assets under the versioned
// path, the page for every other path (the dashboard routes with the URL
// fragment, so any other path is the page too).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", ContentSecurityPolicy)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, Prefix)
	if strings.HasPrefix(rest, "a/") {
		version, name, _ := strings.Cut(strings.TrimPrefix(rest, "a/"), "/")
		a, ok := h.assets[name]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if version == h.version {
			hd.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			// A page of an older binary asks: serve the current file, briefly.
			hd.Set("Cache-Control", "no-cache")
		}
		serve(w, r, a)
		return
	}
	hd.Set("Cache-Control", "no-cache")
	serve(w, r, h.index)
}

func serve(w http.ResponseWriter, r *http.Request, a asset) {
	hd := w.Header()
	hd.Set("ETag", a.etag)
	hd.Set("Content-Type", a.ctype)
	if match := r.Header.Get("If-None-Match"); match != "" && etagMatches(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hd.Set("Content-Length", strconv.Itoa(len(a.body)))
	if r.Method == http.MethodHead {
		return
	}
	w.Write(a.body)
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}
