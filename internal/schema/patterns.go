package schema

import (
	"regexp"
	"sync"
)

// maxCachedPatterns bounds the patterns a Patterns keeps. Patterns come
// from collection definitions, so a live schema has a handful; beyond the
// bound (many schema changes over a long run) they are compiled per use.
const maxCachedPatterns = 512

// Patterns caches the compiled patterns of text fields for ValidateWith:
// compiling a field's pattern is most of what validating a record costs.
// The zero value is not usable; a nil *Patterns compiles every time. Safe
// for concurrent use.
type Patterns struct {
	mu sync.RWMutex
	m  map[string]*regexp.Regexp
}

// NewPatterns returns an empty cache.
func NewPatterns() *Patterns {
	return &Patterns{m: make(map[string]*regexp.Regexp)}
}

// compile returns src compiled, from the cache when it was compiled before.
func (p *Patterns) compile(src string) (*regexp.Regexp, error) {
	if p == nil {
		return regexp.Compile(src)
	}
	p.mu.RLock()
	re := p.m[src]
	p.mu.RUnlock()
	if re != nil {
		return re, nil
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if len(p.m) < maxCachedPatterns {
		p.m[src] = re
	}
	p.mu.Unlock()
	return re, nil
}
