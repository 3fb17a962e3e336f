package function

import (
	"context"
	"fmt"
	"sort"

	"github.com/basalt-dev/basalt/internal/apperr"
)

// pool is one loaded version of the function files: the compiled sources,
// what they registered, and warm runtimes that each evaluated them once.
// A reload builds a new pool and swaps it in; invocations that hold a
// runtime of the old one finish on it.
type pool struct {
	files []*source
	// regs is what the files registered, in order; fns of every runtime
	// follow the same order.
	regs []registration
	// hooks lists the registrations of each hook name and collection
	// ("*" for all), e.g. hooks["beforeCreate"]["posts"].
	hooks map[string]map[string][]int
	// routes are the indexes of route registrations, most specific first.
	routes []int
	idle   chan *vm
}

// newPool compiles nothing: it evaluates files in size runtimes and checks
// that each registered the same things. Without files nothing is
// registered, so nothing can ever run: the pool then holds no runtime (a
// goja runtime costs memory and startup time a server without functions
// should not pay).
func (s *Service) newPool(files []*source, size int) (*pool, error) {
	if len(files) == 0 {
		return &pool{hooks: map[string]map[string][]int{}, idle: make(chan *vm)}, nil
	}
	first, err := s.newVM(files)
	if err != nil {
		return nil, err
	}
	p := &pool{files: files, regs: first.regs, hooks: map[string]map[string][]int{}, idle: make(chan *vm, size)}
	for i, r := range p.regs {
		switch r.kind {
		case "hook":
			byCol := p.hooks[r.name]
			if byCol == nil {
				byCol = map[string][]int{}
				p.hooks[r.name] = byCol
			}
			byCol[r.arg] = append(byCol[r.arg], i)
		case "route":
			p.routes = append(p.routes, i)
		}
	}
	sort.SliceStable(p.routes, func(a, b int) bool {
		return p.regs[p.routes[a]].route.moreSpecific(p.regs[p.routes[b]].route)
	})
	if err := s.checkRoutes(p); err != nil {
		return nil, err
	}
	p.idle <- first
	for i := 1; i < size; i++ {
		v, err := s.newVM(files)
		if err != nil {
			return nil, err
		}
		if err := p.same(v); err != nil {
			return nil, err
		}
		p.idle <- v
	}
	return p, nil
}

// same checks that v registered what the pool's first runtime did (a file
// that registers at random would make runtimes disagree).
func (p *pool) same(v *vm) error {
	if len(v.regs) != len(p.regs) {
		return fmt.Errorf("the function files registered different things in different runtimes: registrations must not depend on chance or time")
	}
	for i := range v.regs {
		a, b := v.regs[i], p.regs[i]
		if a.kind != b.kind || a.name != b.name || a.arg != b.arg || a.auth != b.auth {
			return fmt.Errorf("the function files registered different things in different runtimes: registrations must not depend on chance or time")
		}
	}
	return nil
}

// checkRoutes refuses two routes with the same method and the same shape.
func (s *Service) checkRoutes(p *pool) error {
	seen := map[string]string{}
	for _, i := range p.routes {
		r := p.regs[i]
		key := r.name + " " + r.route.shape()
		if prev, ok := seen[key]; ok {
			return fmt.Errorf("%s: route %s %s is already registered by %s", r.file, r.name, r.arg, prev)
		}
		seen[key] = r.file
	}
	return nil
}

// acquire takes an idle runtime, waiting until ctx ends.
func (p *pool) acquire(ctx context.Context) (*vm, error) {
	select {
	case v := <-p.idle:
		return v, nil
	default:
	}
	select {
	case v := <-p.idle:
		return v, nil
	case <-ctx.Done():
		return nil, apperr.Wrap(apperr.Unavailable, "Every function runtime is busy; try again.", ctx.Err())
	}
}

func (p *pool) release(v *vm) { p.idle <- v }

// replace drops a runtime that was interrupted (its state may be half
// changed, and a memory bomb's data must go) and warms a new one.
func (s *Service) replace(p *pool) {
	go func() {
		v, err := s.newVM(p.files)
		if err != nil {
			s.log.Error("functions: rebuilding a runtime failed; the pool is one runtime smaller", "err", err)
			return
		}
		p.idle <- v
	}()
}

// hookIndexes returns the registrations of hook name for collection.
func (p *pool) hookIndexes(name, collection, collectionID string) []int {
	byCol := p.hooks[name]
	if byCol == nil {
		return nil
	}
	out := append([]int(nil), byCol["*"]...)
	out = append(out, byCol[collection]...)
	if collectionID != collection {
		out = append(out, byCol[collectionID]...)
	}
	sort.Ints(out)
	return out
}
