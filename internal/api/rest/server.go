package rest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/basalt-dev/basalt/internal/api/caller"
	"github.com/basalt-dev/basalt/internal/api/httplimit"
	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/auth"
	"github.com/basalt-dev/basalt/internal/backup"
	"github.com/basalt-dev/basalt/internal/collection"
	"github.com/basalt-dev/basalt/internal/job"
	"github.com/basalt-dev/basalt/internal/logs"
	"github.com/basalt-dev/basalt/internal/metrics"
	"github.com/basalt-dev/basalt/internal/monitor"
	"github.com/basalt-dev/basalt/internal/ratelimit"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
	"github.com/basalt-dev/basalt/internal/settings"
	"github.com/basalt-dev/basalt/internal/store"
	"github.com/basalt-dev/basalt/internal/token"
	"github.com/basalt-dev/basalt/internal/webhook"
)

// DefaultMaxBody bounds request bodies without file uploads.
const DefaultMaxBody = 32 << 20

// FileServer streams stored files to clients. Errors are returned before
// anything is written (a missing file is apperr NotFound).
type FileServer interface {
	Serve(w http.ResponseWriter, r *http.Request, collectionID, recordID, name string, download bool) error
	// ServeThumb serves a thumbnail of size ("WxH" etc.) when field allows it,
	// else the original.
	ServeThumb(w http.ResponseWriter, r *http.Request, collectionID, recordID, name string, field *schema.Field, size string, download bool) error
}

// Deps are the services the REST transport calls.
type Deps struct {
	Logger      *slog.Logger
	Collections *collection.Service
	Records     *record.Service
	Auth        *auth.Service
	Settings    *settings.Service
	Files       FileServer
	// Realtime serves /api/realtime; nil answers 404 there.
	Realtime Realtime
	// Webhooks serves /api/webhooks; nil answers 404 there.
	Webhooks *webhook.Service
	// Backups serves /api/backups; nil answers 404 there.
	Backups *backup.Service
	// Jobs serves /api/jobs; nil answers 404 there.
	Jobs *job.Queue
	// Crons serves /api/crons; nil answers 404 there.
	Crons *job.Scheduler

	// Metrics counts requests; nil counts nothing.
	Metrics *metrics.Metrics
	// MetricsToken, when set, serves Metrics at /metrics on this handler to
	// requests bearing it ("Authorization: Bearer <token>"); empty leaves
	// /metrics off the API listener.
	MetricsToken string
	// Monitor serves the recent history of the process's vital signs at
	// /api/metrics/history (superusers); nil answers 404 there.
	Monitor *monitor.Monitor
	// Logs serves /api/logs; nil answers 404 there.
	Logs *logs.Service
	// Audit serves /api/audit; nil answers 404 there.
	Audit store.AuditLog
	// TrustedProxies are the networks of the proxies whose forwarding
	// headers name the client. Empty honours the headers of the
	// trustedProxy settings from any peer, as PocketBase does.
	TrustedProxies []netip.Prefix
	// Ready reports whether the server should take traffic (/readyz); its
	// error is shown to the prober, so it must name no secret. nil: always.
	Ready func(ctx context.Context) error
	// RateLimiter keeps the buckets of the rateLimits settings; nil keeps
	// them in this process.
	RateLimiter RateLimiter
	// Tracer traces every request (tracing.go); nil, when tracing is off,
	// costs the request nothing.
	Tracer Tracer
	// Limits caps concurrent requests and sets their deadlines (see
	// limits.go); nil applies neither.
	Limits *httplimit.Limiter
	// CORSOrigins are the origins allowed to read answers (see headers.go);
	// empty or "*" allows any, as PocketBase does.
	CORSOrigins []string
	// MaxBody bounds request bodies without file uploads; 0 is
	// DefaultMaxBody.
	MaxBody int64
	// Fresh, when set, is called before every API request (fresh.go) and
	// returns once the process's configuration is as new as the stored
	// one was when the request arrived: replicas use it for
	// read-your-writes on collections and settings.
	Fresh func(ctx context.Context) error
	// Mounts are other transports served behind the same middleware (auth,
	// limits, CORS, logs, metrics): each ServeMux pattern, such as
	// "/api/graphql" or "/_/", maps to its handler, which reads the caller
	// with the caller package and answers errors in its own shape.
	Mounts map[string]http.Handler
	// Streams, when set, reports the requests of mounted transports that
	// open long-lived streams (a gRPC server stream, a GraphQL
	// subscription): like realtime streams, they go without the
	// concurrency cap and the write deadline.
	Streams func(r *http.Request) bool
}

type server struct {
	Deps
	limits *rateLimits
}

// NewServer returns the REST API handler.
func NewServer(d Deps) http.Handler {
	s := &server{Deps: d}
	mux := s.limitedMux()
	s.routes(mux.ServeMux)
	for pattern, h := range d.Mounts {
		mux.Handle(pattern, h)
	}
	return s.observe(s.recover(s.cors(s.limit(s.fresh(s.loadAuth(s.routed(mux)))))))
}

type identityKey struct{}

// identity is the authenticated caller of a request.
type identity struct {
	record *schema.Record
	claims *token.Claims
}

// loadAuth resolves the Authorization header once per request. An invalid
// token leaves the request unauthenticated; handlers that need auth answer 401.
func (s *server) loadAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h != "" {
			rec, claims, err := s.Auth.Authenticate(r.Context(), h)
			if err == nil && rec != nil {
				ctx := context.WithValue(r.Context(), identityKey{}, &identity{rec, claims})
				r = r.WithContext(caller.WithAuth(ctx, rec))
			} else if err != nil && apperr.CodeOf(err) == apperr.Internal {
				s.fail(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func identityOf(r *http.Request) *identity {
	id, _ := r.Context().Value(identityKey{}).(*identity)
	return id
}

// request builds the service-layer description of the caller.
func (s *server) request(r *http.Request) *record.Request {
	req := caller.Request(r)
	// Fields with a visibleRule are decided once per response.
	s.Records.Visibility(r.Context(), req)
	return req
}

func (s *server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.ErrorContext(r.Context(), "panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeError(w, r, apperr.New(apperr.Internal, ""), s.Logger)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var limited *ratelimit.Exceeded
	if errors.As(err, &limited) {
		w.Header().Set("Retry-After", strconv.Itoa(limited.RetryAfterSeconds()))
	}
	writeError(w, r, err, s.Logger)
}

// requireSuperuser answers 401/403 unless the caller is a superuser.
func (s *server) requireSuperuser(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := identityOf(r)
		if id == nil {
			s.fail(w, r, apperr.New(apperr.Unauthenticated, "The request requires valid record authorization token."))
			return
		}
		if id.record.Collection.ID != schema.SuperusersID {
			s.fail(w, r, apperr.New(apperr.Forbidden, "The authorized record is not allowed to perform this action."))
			return
		}
		next(w, r)
	}
}

// readBody decodes a request body (JSON, form or multipart) into service input.
func (s *server) readBody(r *http.Request, max int64) (record.Input, error) {
	data, files, err := decodeBody(r, max)
	if err != nil {
		return record.Input{}, err
	}
	in := record.Input{Data: data}
	if len(files) > 0 {
		in.Files = make(map[string][]record.Upload, len(files))
		for k, list := range files {
			for _, fh := range list {
				in.Files[k] = append(in.Files[k], upload{fh})
			}
		}
	}
	return in, nil
}

// upload adapts a multipart file to record.Upload.
type upload struct{ fh *multipart.FileHeader }

func (u upload) Filename() string             { return u.fh.Filename }
func (u upload) Size() int64                  { return u.fh.Size }
func (u upload) Open() (io.ReadCloser, error) { return u.fh.Open() }

// maxBodyFor returns the body limit of a record write: room for the
// collection's file fields, bounded.
func (s *server) maxBodyFor(c *schema.Collection) int64 {
	max := s.maxBody()
	for _, f := range c.Fields {
		if f.Type != schema.TypeFile {
			continue
		}
		size := f.MaxSize
		if size <= 0 {
			size = schema.DefaultFileSize
		}
		n := int64(f.MaxSelect)
		if n < 1 {
			n = 1
		}
		max += size * n
	}
	if max > 1<<32 {
		max = 1 << 32
	}
	return max
}

func isTrue(s string) bool {
	switch strings.ToLower(s) {
	case "1", "true", "t", "yes", "on":
		return true
	}
	return false
}
