package main

import (
	"io"
	"testing"
)

func TestReadCacheFlag(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want int
		bad  bool
	}{
		{want: defaultReadCache},
		{args: []string{"--read-cache", "0"}, want: 0},
		{env: map[string]string{"BASALT_READ_CACHE": "500"}, want: 500},
		{args: []string{"--read-cache", "7"}, env: map[string]string{"BASALT_READ_CACHE": "500"}, want: 7},
		{env: map[string]string{"BASALT_READ_CACHE": "lots"}, bad: true},
		{env: map[string]string{"BASALT_READ_CACHE": "-1"}, bad: true},
	} {
		o, _, err := parseFlags("serve", tc.args, env(tc.env), io.Discard)
		if tc.bad {
			if err == nil {
				t.Errorf("%v %v: accepted", tc.args, tc.env)
			}
			continue
		}
		if err != nil || o.readCache != tc.want {
			t.Errorf("%v %v: readCache %v, err %v; want %d", tc.args, tc.env, o, err, tc.want)
		}
	}
}
