package graphql

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	gql "github.com/graphql-go/graphql"
	"github.com/graphql-go/graphql/gqlerrors"
	"github.com/graphql-go/graphql/language/ast"
	"github.com/graphql-go/graphql/language/parser"
	"github.com/graphql-go/graphql/language/source"

	"github.com/basalt-dev/basalt/internal/api/caller"
	"github.com/basalt-dev/basalt/internal/apperr"
	"github.com/basalt-dev/basalt/internal/record"
	"github.com/basalt-dev/basalt/internal/schema"
)

// Collections lists the live collections; the schema follows them.
type Collections interface {
	// All returns every collection. A change replaces the collections (new
	// pointers), which is how the handler notices it.
	All() []*schema.Collection
}

// Deps are what the handler needs.
type Deps struct {
	Records     *record.Service
	Collections Collections
	Logger      *slog.Logger
	Limits      Limits
	// Subscriptions feeds subscriptions; nil serves no WebSocket.
	Subscriptions Subscriptions
	// Authenticate resolves a token sent in a WebSocket's connection_init
	// payload (the REST middleware has resolved the Authorization header
	// of the upgrade request already); nil accepts none.
	Authenticate func(ctx context.Context, header string) (*schema.Record, error)
}

// Handler serves /api/graphql.
type Handler struct {
	d Deps

	mu     sync.Mutex
	cached *schemas
}

// schemas are the two schemas built for one set of collections.
type schemas struct {
	cols          []*schema.Collection
	super, public *built
}

// New returns the GraphQL handler.
func New(d Deps) *Handler {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{d: d}
}

// schema returns the schema for a caller, rebuilding both when the
// collections changed since the last build. The collection registry
// replaces collections whole on every change (on every replica, through its
// config watcher), so comparing pointers is enough and costs no query.
func (h *Handler) schema(super bool) (*built, error) {
	cols := h.d.Collections.All()
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.cached; c == nil || !samePointers(c.cols, cols) {
		sup, err := build(cols, true)
		if err != nil {
			return nil, err
		}
		pub, err := build(cols, false)
		if err != nil {
			return nil, err
		}
		h.cached = &schemas{cols: cols, super: sup, public: pub}
		h.d.Logger.Debug("graphql: schema built", "collections", len(cols))
	}
	if super {
		return h.cached.super, nil
	}
	return h.cached.public, nil
}

func samePointers(a, b []*schema.Collection) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// params are the parameters of one GraphQL request.
type params struct {
	Query         string         `json:"query"`
	Variables     map[string]any `json:"variables"`
	OperationName string         `json:"operationName"`
}

// response is the body of a GraphQL answer. Data is present (null at
// worst) once execution started, absent when the request failed before.
type response struct {
	Data     any
	Errors   []Error
	executed bool
}

// MarshalJSON encodes {"data", "errors"} as the GraphQL spec shapes them,
// writing data straight into the output (encoding/json would check and
// copy what a nested MarshalJSON returns).
func (r response) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	if r.executed {
		buf = append(buf, `"data":`...)
		var err error
		if o, ok := r.Data.(ordered); ok {
			buf, err = o.append(buf)
		} else {
			buf, err = appendValue(buf, r.Data)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(r.Errors) > 0 {
		if r.executed {
			buf = append(buf, ',')
		}
		errs, err := json.Marshal(r.Errors)
		if err != nil {
			return nil, err
		}
		buf = append(append(buf, `"errors":`...), errs...)
	}
	return append(buf, '}'), nil
}

// maxBody bounds a request body: the query, plus variables that may carry
// record data (an editor field holds up to 5 MiB).
const maxBody = 8 << 20

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if isWebSocket(r) {
		h.serveWS(w, r)
		return
	}
	var p params
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		if q.Get("query") == "" && strings.Contains(r.Header.Get("Accept"), "text/html") {
			servePlayground(w)
			return
		}
		p.Query, p.OperationName = q.Get("query"), q.Get("operationName")
		if v := q.Get("variables"); v != "" {
			if err := json.Unmarshal([]byte(v), &p.Variables); err != nil {
				writeError(w, http.StatusBadRequest, apperr.New(apperr.Invalid, "The variables parameter is not a JSON object."))
				return
			}
		}
	case http.MethodPost:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				writeError(w, http.StatusRequestEntityTooLarge, apperr.New(apperr.TooLarge, "The request body is too large."))
				return
			}
			writeError(w, http.StatusBadRequest, apperr.New(apperr.Invalid, "The request body could not be read."))
			return
		}
		if err := json.Unmarshal(body, &p); err != nil {
			writeError(w, http.StatusBadRequest, apperr.New(apperr.Invalid, `The body must be a JSON object {"query", "variables", "operationName"}.`))
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, apperr.New(apperr.Invalid, "Use GET or POST."))
		return
	}
	res := h.run(r.Context(), r, p)
	writeJSON(w, http.StatusOK, res)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, response{Errors: []Error{fromApp(err, nil)}})
}

func writeJSON(w http.ResponseWriter, status int, v response) {
	body, err := v.MarshalJSON()
	if err != nil {
		status = http.StatusInternalServerError
		body, _ = json.Marshal(response{Errors: []Error{{Message: msgInternal, Extensions: map[string]any{"code": string(apperr.Internal)}}}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// prepared is a parsed, checked and validated request.
type prepared struct {
	built *built
	doc   *ast.Document
	op    *ast.OperationDefinition
}

// prepare parses p, applies the limits and validates it against the
// caller's schema.
func (h *Handler) prepare(ctx context.Context, p params) (*prepared, []Error) {
	fail := func(err error) (*prepared, []Error) { return nil, []Error{fromApp(err, h.d.Logger)} }
	if strings.TrimSpace(p.Query) == "" {
		return fail(apperr.New(apperr.Invalid, "The query is missing."))
	}
	if l := h.d.Limits.MaxQuerySize; l > 0 && len(p.Query) > l {
		return fail(tooLarge("The query is %d bytes long; at most %d are allowed.", len(p.Query), l))
	}
	b, err := h.schema(caller.IsSuperuser(ctx))
	if err != nil {
		return fail(err)
	}
	// A document that passed validation once against this schema is
	// parsed and validated again only when it falls out of the cache; the
	// limits depend on variables and are checked every time.
	doc, cached := b.docs.get(p.Query)
	if !cached {
		var err error
		doc, err = parser.Parse(parser.ParseParams{Source: source.NewSource(&source.Source{Body: []byte(p.Query), Name: "GraphQL request"})})
		if err != nil {
			return nil, fromGraphQL([]gqlerrors.FormattedError{gqlerrors.FormatError(err)}, h.d.Logger)
		}
	}
	if err := h.d.Limits.check(doc, &b.schema, p.OperationName, p.Variables); err != nil {
		return fail(err)
	}
	if !cached {
		if errs := validate(&b.schema, doc, h.d.Logger); errs != nil {
			if !h.d.Limits.Introspection {
				// Suggestions would name fields introspection hides.
				for i := range errs {
					if k := strings.Index(errs[i].Message, " Did you mean"); k > 0 {
						errs[i].Message = errs[i].Message[:k]
					}
				}
			}
			return nil, errs
		}
		b.docs.put(p.Query, doc)
	}
	op := operationNamed(doc, p.OperationName)
	if op == nil {
		return fail(apperr.New(apperr.Invalid, "Unknown operation named \""+p.OperationName+"\"."))
	}
	return &prepared{built: b, doc: doc, op: op}, nil
}

// operationNamed returns the operation to run: the one named name, or the
// only one when name is "".
func operationNamed(doc *ast.Document, name string) *ast.OperationDefinition {
	var found *ast.OperationDefinition
	for _, def := range doc.Definitions {
		op, ok := def.(*ast.OperationDefinition)
		if !ok {
			continue
		}
		if name == "" {
			if found != nil {
				return nil
			}
			found = op
		} else if op.Name != nil && op.Name.Value == name {
			return op
		}
	}
	return found
}

// run executes a query or mutation for the caller of r.
func (h *Handler) run(ctx context.Context, r *http.Request, p params) response {
	pr, errs := h.prepare(ctx, p)
	if errs != nil {
		return response{Errors: errs}
	}
	switch pr.op.Operation {
	case ast.OperationTypeSubscription:
		return response{Errors: []Error{fromApp(apperr.New(apperr.Invalid, "Subscriptions are served over WebSocket (the graphql-transport-ws protocol)."), nil)}}
	case ast.OperationTypeMutation:
		if r.Method != http.MethodPost {
			return response{Errors: []Error{fromApp(apperr.New(apperr.Invalid, "Mutations must be sent with POST."), nil)}}
		}
	}
	return h.execute(ctx, r, pr, p, nil)
}

// execute runs a prepared operation on root (nil for queries and
// mutations, the event for a subscription) within the time limit.
func (h *Handler) execute(ctx context.Context, r *http.Request, pr *prepared, p params, root map[string]any) response {
	if t := h.d.Limits.Timeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	base := caller.Request(r)
	base.Query = map[string]string{}
	ctx = withOperation(ctx, &operation{records: h.d.Records, base: base, built: pr.built})
	res := gql.Execute(gql.ExecuteParams{
		Schema: pr.built.schema, Root: root, AST: pr.doc, OperationName: p.OperationName, Args: p.Variables, Context: ctx,
	})
	out := response{Data: orderedData(res.Data, pr.doc, pr.op), executed: true}
	if len(res.Errors) > 0 {
		out.Errors = fromGraphQL(res.Errors, h.d.Logger)
	}
	return out
}

// validate runs graphql-go's validator. It panics on some malformed
// documents (a variable without a type, found by fuzzing): a panic is the
// document's fault and is answered as an invalid query.
func validate(s *gql.Schema, doc *ast.Document, logger *slog.Logger) (errs []Error) {
	defer func() {
		if v := recover(); v != nil {
			errs = []Error{{Message: "The query is malformed.", Extensions: map[string]any{"code": string(apperr.Invalid)}}}
		}
	}()
	if v := gql.ValidateDocument(s, doc, nil); !v.IsValid {
		return fromGraphQL(v.Errors, logger)
	}
	return nil
}
