package filter

// tri is a three-valued SQL truth value.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triNull
)

func triOf(b bool) tri {
	if b {
		return triTrue
	}
	return triFalse
}

func (t tri) not() tri {
	switch t {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triNull
}

// Class sorts an operand for = and !=, which a PocketBase-compatible server
// compiles differently depending on what it knows about each side before the
// query runs.
type Class uint8

// Operand classes.
const (
	// ClassDynamic operands are read when the query runs: fields, function
	// results, items of multi values.
	ClassDynamic Class = iota
	// ClassEmpty operands are constants that are NULL or '' (null, '', an empty
	// placeholder or request value).
	ClassEmpty
	// ClassKnown operands are constants that are neither NULL nor '' (numbers,
	// true, false, non-empty text, macros, non-empty request values).
	ClassKnown
)

// side is one operand of a comparison, resolved.
type side struct {
	val   Value
	class Class
	// param is set for constants bound as parameters; their LIKE pattern is
	// escaped and wrapped (likeText is the text it is built from). The null
	// literal, true and false are inlined SQL, not parameters.
	param    bool
	likeText string
}

func (s *side) multi() bool { return s.val.Multi }

// affinities applies SQLite's comparison affinity rules to a and b.
func affinities(a Scalar, aa Affinity, b Scalar, ba Affinity) (Scalar, Scalar) {
	switch {
	case aa == AffinityNumeric && ba != AffinityNumeric:
		b = applyNumeric(b)
	case ba == AffinityNumeric && aa != AffinityNumeric:
		a = applyNumeric(a)
	case aa == AffinityText && ba == AffinityNone:
		b = applyText(b)
	case ba == AffinityText && aa == AffinityNone:
		a = applyText(a)
	}
	return a, b
}

// sqlCompare is `a op b` for op in = < <= > >= with affinities; NULL yields
// triNull.
func sqlCompare(op Op, a Scalar, aa Affinity, b Scalar, ba Affinity) tri {
	if a.IsNull() || b.IsNull() {
		return triNull
	}
	a, b = affinities(a, aa, b, ba)
	c := compareScalars(a, b)
	switch op {
	case OpEq:
		return triOf(c == 0)
	case OpNeq:
		return triOf(c != 0)
	case OpGt:
		return triOf(c > 0)
	case OpGte:
		return triOf(c >= 0)
	case OpLt:
		return triOf(c < 0)
	case OpLte:
		return triOf(c <= 0)
	}
	return triNull
}

// sqlIs is `a IS b`: like = but NULL IS NULL is true and never NULL.
func sqlIs(a Scalar, aa Affinity, b Scalar, ba Affinity) bool {
	if a.IsNull() || b.IsNull() {
		return a.IsNull() && b.IsNull()
	}
	return sqlCompare(OpEq, a, aa, b, ba) == triTrue
}

var emptyText = Text("")

// compareItems compares one item of each side under the base operator op.
func compareItems(op Op, l *side, a Scalar, r *side, b Scalar) tri {
	switch op {
	case OpEq, OpNeq:
		return equality(op == OpEq, l, a, r, b)
	case OpLike, OpNotLike:
		t := like(a, r, b)
		if op == OpNotLike {
			return t.not()
		}
		return t
	}
	return sqlCompare(op, a, l.val.Affinity, b, r.val.Affinity)
}

// equality implements = (eq) and != the way a PocketBase-compatible server
// compiles them:
//
//   - a strict side (JSON value): `a IS b` / `a IS NOT b`;
//   - both sides empty constants: true for =, false for !=;
//   - one side a known constant: `a = b` / `a IS NOT b`, an empty other side
//     compared as ”; = is NULL when the dynamic side is NULL;
//   - one side an empty constant: `x = ” OR x IS NULL` /
//     `x IS NOT ” AND x IS NOT NULL`;
//   - otherwise `COALESCE(a, ”) = COALESCE(b, ”)` (IS NOT for !=), where
//     COALESCE drops the column affinities.
func equality(eq bool, l *side, a Scalar, r *side, b Scalar) tri {
	la, ra := l.val.Affinity, r.val.Affinity
	if l.val.Strict || r.val.Strict {
		return triOf(sqlIs(a, la, b, ra) == eq)
	}
	lc, rc := l.class, r.class
	if l.multi() {
		lc = ClassDynamic
	}
	if r.multi() {
		rc = ClassDynamic
	}
	switch {
	case lc == ClassEmpty && rc == ClassEmpty:
		return triOf(eq)
	case lc == ClassKnown || rc == ClassKnown:
		if lc == ClassEmpty {
			a, la = emptyText, AffinityNone
		}
		if rc == ClassEmpty {
			b, ra = emptyText, AffinityNone
		}
		if eq {
			return sqlCompare(OpEq, a, la, b, ra)
		}
		return triOf(!sqlIs(a, la, b, ra))
	case lc == ClassEmpty:
		return emptyCheck(eq, b, ra)
	case rc == ClassEmpty:
		return emptyCheck(eq, a, la)
	}
	if a.IsNull() {
		a = emptyText
	}
	if b.IsNull() {
		b = emptyText
	}
	return triOf((compareScalars(a, b) == 0) == eq)
}

func emptyCheck(eq bool, x Scalar, xa Affinity) tri {
	isEmpty := x.IsNull() || sqlCompare(OpEq, x, xa, emptyText, AffinityNone) == triTrue
	return triOf(isEmpty == eq)
}

// like is `a LIKE pattern ESCAPE '\'`. A constant right side is a
// [LikePattern]; any other right side b is used as '%' || b || '%'.
func like(a Scalar, r *side, b Scalar) tri {
	var pattern string
	if r.param {
		pattern = LikePattern(r.likeText)
	} else {
		t, ok := sqlText(b)
		if !ok {
			return triNull
		}
		pattern = "%" + t + "%"
	}
	text, ok := sqlText(a)
	if !ok {
		return triNull
	}
	return triOf(likeMatch(pattern, text))
}
