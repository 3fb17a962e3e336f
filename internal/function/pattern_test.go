package function

import (
	"reflect"
	"strings"
	"testing"
)

func TestPattern(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pattern, path string
		params        map[string]string
		ok            bool
	}{
		{"/", "/", map[string]string{}, true},
		{"/", "/x", nil, false},
		{"/hello/{name}", "/hello/world", map[string]string{"name": "world"}, true},
		{"/hello/{name}", "/hello/a%2Fb", map[string]string{"name": "a/b"}, true},
		{"/hello/{name}", "/hello/", nil, false},
		{"/hello/{name}", "/hello/a/b", nil, false},
		{"/a/{x}/b/{y}", "/a/1/b/2", map[string]string{"x": "1", "y": "2"}, true},
		{"/a.b-c_d~e", "/a.b-c_d~e", map[string]string{}, true},
		{"/bad", "/b%zz", nil, false},
	} {
		p, err := parsePattern(tc.pattern)
		if err != nil {
			t.Fatalf("%s: %v", tc.pattern, err)
		}
		params, ok := p.match(tc.path)
		if ok != tc.ok || (ok && !reflect.DeepEqual(params, tc.params)) {
			t.Errorf("%s ~ %s: got %v %v, want %v %v", tc.pattern, tc.path, params, ok, tc.params, tc.ok)
		}
	}
	for _, bad := range []string{"", "x", "//", "/a//b", "/{}", "/{1x}", "/{a}/{a}", "/a b", "/..", "/a?b", "/" + strings.Repeat("a", maxPattern)} {
		if _, err := parsePattern(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestPatternOrder(t *testing.T) {
	t.Parallel()
	lit, _ := parsePattern("/a/me")
	par, _ := parsePattern("/a/{id}")
	if !lit.moreSpecific(par) || par.moreSpecific(lit) {
		t.Error("a literal segment must come before a parameter")
	}
	if lit.shape() != "/a/me" || par.shape() != "/a/{}" {
		t.Errorf("shapes %q %q", lit.shape(), par.shape())
	}
}

// FuzzPattern: parsing and matching never panic, and a parsed pattern
// matches the path made of its own literals.
func FuzzPattern(f *testing.F) {
	for _, s := range []string{"/", "/a/{b}", "/x/{y}/z", "/{a}/{b}/{c}", "/%", "/{a", "/a}", "/a/../b"} {
		f.Add(s, "/a/b")
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		p, err := parsePattern(pattern)
		if err != nil {
			return
		}
		_, _ = p.match(path)
		var b strings.Builder
		for _, sg := range p.segs {
			b.WriteByte('/')
			if sg.param != "" {
				b.WriteString("v")
			} else {
				b.WriteString(sg.lit)
			}
		}
		own := b.String()
		if own == "" {
			own = "/"
		}
		if _, ok := p.match(own); !ok {
			t.Errorf("%q does not match its own path %q", pattern, own)
		}
	})
}
