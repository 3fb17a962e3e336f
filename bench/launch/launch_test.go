package launch

import "testing"

func TestLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:8090": true,
		"[::1]:8090":     true,
		"0.0.0.0:8090":   false,
		"10.0.0.1:8090":  false,
		"localhost:8090": false, // a name could resolve anywhere
		"127.0.0.1":      false,
		"":               false,
	} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

func TestFreeAddrIsLoopback(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	if !loopback(addr) {
		t.Fatalf("FreeAddr() = %q, want a loopback address", addr)
	}
}

func TestStartRefusesNonLoopback(t *testing.T) {
	_, _, err := Start(t.Context(), Config{Bin: "/nonexistent", Addr: "0.0.0.0:1", Log: t.TempDir() + "/log"})
	if err == nil {
		t.Fatal("Start on 0.0.0.0 succeeded, want an error")
	}
}
