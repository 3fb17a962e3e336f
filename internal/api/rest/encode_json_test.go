package rest

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWriteJSONReusesBuffersSafely(t *testing.T) {
	t.Parallel()
	// Bodies written one after the other must not share bytes, even though
	// the encoding buffer is recycled between them.
	var bodies [][]byte
	for i := range 50 {
		w := httptest.NewRecorder()
		writeJSON(w, 200, map[string]any{"i": float64(i), "pad": strings.Repeat("x", i*100)})
		bodies = append(bodies, w.Body.Bytes())
	}
	for i, b := range bodies {
		var got struct{ I float64 }
		if err := json.Unmarshal(b, &got); err != nil || got.I != float64(i) {
			t.Fatalf("body %d = %.40s… (%v)", i, b, err)
		}
	}
}
