package function

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// maxPattern bounds a route path.
const maxPattern = 512

// pattern is a parsed route path such as /posts/{id}/like: literal
// segments and named parameters that match one whole segment.
type pattern struct {
	segs []segment
}

type segment struct {
	lit   string
	param string // non-empty for {param}
}

// parsePattern parses a route path. It must start with "/"; segments are
// literals of letters, digits and "-._~", or {name} with a JavaScript-like
// identifier; names are unique; "/" alone is the root.
func parsePattern(s string) (*pattern, error) {
	if len(s) > maxPattern {
		return nil, fmt.Errorf("path longer than %d characters", maxPattern)
	}
	if !strings.HasPrefix(s, "/") {
		return nil, errors.New("path must start with /")
	}
	p := &pattern{}
	if s == "/" {
		return p, nil
	}
	seen := map[string]bool{}
	for _, part := range strings.Split(s[1:], "/") {
		if part == "" {
			return nil, fmt.Errorf("path %q has an empty segment", s)
		}
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") && len(part) > 2 {
			name := part[1 : len(part)-1]
			if !identifier(name) {
				return nil, fmt.Errorf("parameter %q is not a valid name", name)
			}
			if seen[name] {
				return nil, fmt.Errorf("parameter %q appears twice", name)
			}
			seen[name] = true
			p.segs = append(p.segs, segment{param: name})
			continue
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
				return nil, fmt.Errorf("segment %q may hold only letters, digits, -._~ or be a {parameter}", part)
			}
		}
		if part == "." || part == ".." {
			return nil, fmt.Errorf("segment %q is not allowed", part)
		}
		p.segs = append(p.segs, segment{lit: part})
	}
	return p, nil
}

func identifier(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// match matches an escaped path (without the mount prefix, starting with
// "/") and returns its parameters, unescaped.
func (p *pattern) match(path string) (map[string]string, bool) {
	if path == "/" || path == "" {
		return map[string]string{}, len(p.segs) == 0
	}
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) != len(p.segs) {
		return nil, false
	}
	params := map[string]string{}
	for i, sg := range p.segs {
		part, err := url.PathUnescape(parts[i])
		if err != nil {
			return nil, false
		}
		if sg.param != "" {
			if part == "" {
				return nil, false
			}
			params[sg.param] = part
			continue
		}
		if part != sg.lit {
			return nil, false
		}
	}
	return params, true
}

// moreSpecific orders patterns so that, at the first segment where they
// differ, a literal comes before a parameter.
func (p *pattern) moreSpecific(q *pattern) bool {
	for i := 0; i < len(p.segs) && i < len(q.segs); i++ {
		pl, ql := p.segs[i].param == "", q.segs[i].param == ""
		if pl != ql {
			return pl
		}
	}
	return false
}

// shape is the pattern with parameter names erased: two routes of one
// method with the same shape would be ambiguous.
func (p *pattern) shape() string {
	var b strings.Builder
	for _, sg := range p.segs {
		b.WriteByte('/')
		if sg.param != "" {
			b.WriteString("{}")
		} else {
			b.WriteString(sg.lit)
		}
	}
	if b.Len() == 0 {
		return "/"
	}
	return b.String()
}
