// Package layers_test enforces the dependency rule of DESIGN.md: imports
// point down only (transports → services → ports ← adapters), leaf packages
// import no domain package, and only cmd/ wires adapters and transports.
package layers_test

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/basalt-dev/basalt/"

// layerOf names the layer of a package path relative to the module.
func layerOf(pkg string) string {
	switch {
	case strings.HasPrefix(pkg, "cmd/"):
		return "cmd"
	case strings.HasPrefix(pkg, "bench/"):
		// Load drivers and their helpers: programs that may use a
		// transport's generated client, never an adapter.
		return "bench"
	case strings.HasPrefix(pkg, "internal/api/"):
		return "transport"
	case pkg == "internal/store", pkg == "internal/blob", pkg == "internal/mail":
		return "port"
	case strings.HasPrefix(pkg, "internal/store/"), strings.HasPrefix(pkg, "internal/blob/"),
		strings.HasPrefix(pkg, "internal/mail/"), pkg == "internal/sqlfilter":
		return "adapter"
	case strings.HasPrefix(pkg, "internal/ratelimit/"):
		// The ratelimit leaf doubles as the port of shared bucket stores
		// (its Rule and Result); the stores below it are adapters.
		return "adapter"
	case pkg == "internal/schema":
		return "domain"
	case pkg == "internal/apperr", pkg == "internal/filter", pkg == "internal/random",
		pkg == "internal/password", pkg == "internal/token", pkg == "internal/ratelimit",
		pkg == "internal/metrics", pkg == "internal/tracing", pkg == "internal/cron", pkg == "internal/netguard":
		// metrics and tracing are telemetry: DESIGN.md counts them among
		// the leaves.
		return "leaf"
	}
	return "service"
}

// allowed lists, per layer, the layers its packages may import.
var allowed = map[string][]string{
	"leaf":      {"leaf"},
	"domain":    {"leaf", "domain"},
	"port":      {"leaf", "domain", "port"},
	"adapter":   {"leaf", "domain", "port", "adapter"},
	"service":   {"leaf", "domain", "port", "service"},
	"transport": {"leaf", "domain", "port", "service", "transport"},
	"cmd":       {"leaf", "domain", "port", "adapter", "service", "transport"},
	"bench":     {"leaf", "domain", "port", "service", "transport", "bench"},
}

func TestDependencyRule(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 || !strings.HasPrefix(fields[0], module) {
			continue
		}
		pkg := strings.TrimPrefix(fields[0], module)
		layer := layerOf(pkg)
		checked++
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			dep := strings.TrimPrefix(imp, module)
			if !contains(allowed[layer], layerOf(dep)) {
				t.Errorf("%s (%s) imports %s (%s): forbidden by the dependency rule", pkg, layer, dep, layerOf(dep))
			}
		}
	}
	if checked < 5 {
		t.Fatalf("checked only %d packages; go list output looks wrong", checked)
	}
}

func TestLayerOf(t *testing.T) {
	tests := map[string]string{
		"cmd/basalt": "cmd", "internal/api/rest": "transport", "internal/store": "port",
		"internal/store/sqlite": "adapter", "internal/record": "service", "internal/filter": "leaf",
		"internal/schema": "domain", "internal/blob/local": "adapter",
		"internal/mail": "port", "internal/mail/smtp": "adapter", "internal/ratelimit": "leaf",
		"internal/metrics": "leaf", "internal/logs": "service", "internal/store/logdb": "adapter",
		"internal/store/timed": "adapter", "internal/ratelimit/redis": "adapter",
	}
	for pkg, want := range tests {
		if got := layerOf(pkg); got != want {
			t.Errorf("layerOf(%q) = %q, want %q", pkg, got, want)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
