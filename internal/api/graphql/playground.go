package graphql

import (
	_ "embed"
	"net/http"
)

// playgroundPage is a self-contained page (no external scripts: servers
// may be offline) to write a query, send it with a token and read the
// answer.
//
//go:embed playground.html
var playgroundPage []byte

func servePlayground(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The page's own inline script and same-origin requests only.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(playgroundPage)
}
