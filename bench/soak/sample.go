package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// recorder collects the outcome of every request of the current window.
// Sign-ins are timed apart from the rest: a password check costs tens of
// milliseconds of CPU by design, and at about 1% of the traffic they would
// decide the p99 by how many fell in a window.
type recorder struct {
	mu        sync.Mutex
	latencies []time.Duration // every request but sign-ins
	signins   []time.Duration
	errors    int
	// firstErrors keeps a few error messages for the report.
	firstErrors []string
	ops         map[string]int
	totalErrors int
}

func newRecorder() *recorder { return &recorder{ops: map[string]int{}} }

// add records one request.
func (r *recorder) add(op string, took time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if op == opSignIn {
		r.signins = append(r.signins, took)
	} else {
		r.latencies = append(r.latencies, took)
	}
	r.ops[op]++
	if err != nil {
		r.errors++
		r.totalErrors++
		if len(r.firstErrors) < 10 {
			r.firstErrors = append(r.firstErrors, err.Error())
		}
	}
}

// fail records an error outside a request (a realtime stream that ended).
func (r *recorder) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors++
	r.totalErrors++
	if len(r.firstErrors) < 10 {
		r.firstErrors = append(r.firstErrors, err.Error())
	}
}

// cut ends the window and starts the next one. It returns the window's
// requests and errors (sign-ins included), p50 and p99 of the requests
// other than sign-ins, and the median sign-in (0 when none).
func (r *recorder) cut() (requests, errors int, p50, p99, signin time.Duration) {
	r.mu.Lock()
	lat, sig := r.latencies, r.signins
	errors = r.errors
	r.latencies = make([]time.Duration, 0, len(lat))
	r.signins = make([]time.Duration, 0, len(sig))
	r.errors = 0
	r.mu.Unlock()
	slices.Sort(lat)
	slices.Sort(sig)
	return len(lat) + len(sig), errors, percentile(lat, 0.50), percentile(lat, 0.99), percentile(sig, 0.50)
}

// percentile returns the q-quantile of sorted (nearest rank), 0 when empty.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// runtimeMetrics are the server gauges a window records.
var runtimeMetrics = []string{
	"go_goroutines",
	"go_memstats_heap_inuse_bytes",
	"go_memstats_next_gc_bytes",
	"process_resident_memory_bytes",
	"process_cpu_seconds_total",
}

// gogcMetric is the server's GOGC; optional (100 when absent).
const gogcMetric = "go_gc_gogc_percent"

// heapGoalAt100 is the heap goal of a server whose metrics are m, as
// it would be with GOGC=100: twice the live heap at the last GC. Basalt
// serves with a higher GOGC (its goal is then (1 + GOGC/100) × the live
// heap), and the bounds of the verdict are written for GOGC=100.
func heapGoalAt100(goal float64, m map[string]float64) float64 {
	if gogc, ok := m[gogcMetric]; ok && gogc > 0 {
		return goal * 2 / (1 + gogc/100)
	}
	return goal
}

// poolMetric is the SQLite connections per pool, summed over the pools;
// optional (when absent, -cache-conns is used).
const poolMetric = "basalt_db_pool_max_connections"

// fileSizes returns the summed sizes of the files that exist among paths.
func fileSizes(paths ...string) float64 {
	var n int64
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			n += st.Size()
		}
	}
	return float64(n)
}

// loadAverage returns the machine's 1-minute load average (Linux), 0 when
// unknown.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// scrape reads the server's /metrics and returns the values of names, all
// required, and of optional ones that are there.
func scrape(ctx context.Context, c *http.Client, url string, names, optional []string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scraping %s: %w", url, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scraping %s: status %d", url, res.StatusCode)
	}
	return parseMetrics(res.Body, names, optional)
}

// parseMetrics picks samples out of a Prometheus text exposition; the
// samples of a name with labels are summed.
func parseMetrics(r io.Reader, names, optional []string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range append(names, optional...) {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(f[0], "{")
		if !want[name] {
			continue
		}
		// A label value may hold spaces: the value is the last field but
		// a timestamp, which this exposition does not use.
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err != nil {
			return nil, fmt.Errorf("metric %s: %w", name, err)
		}
		out[name] += v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading metrics: %w", err)
	}
	for _, n := range names {
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("metric %s missing from /metrics", n)
		}
	}
	return out, nil
}

// clockTicks is USER_HZ, the unit of /proc/stat and /proc/<pid>/stat times;
// Linux fixes it at 100 for user space.
const clockTicks = 100

// machineBusy returns the CPU time all processors have spent busy since
// boot (Linux /proc/stat), 0 when unknown.
func machineBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	// user nice system idle iowait irq softirq steal: all but idle and iowait.
	for i, v := range f[1:9] {
		if i == 3 || i == 4 {
			continue
		}
		n, _ := strconv.ParseFloat(v, 64)
		busy += n
	}
	return busy / clockTicks
}

// selfCPU returns the CPU time this process has used (Linux), 0 when
// unknown.
func selfCPU() float64 {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / clockTicks
}

// runQueueWait returns how long the threads of process pid have waited,
// runnable, for a CPU since they started (Linux schedstat), 0 when unknown.
// It grows when other processes, or the process's own threads, take the
// cores it could run on.
func runQueueWait(pid int) time.Duration {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var wait int64
	for _, t := range tasks {
		b, err := os.ReadFile(dir + "/" + t.Name() + "/schedstat")
		if err != nil {
			continue // the thread exited meanwhile
		}
		f := strings.Fields(string(b))
		if len(f) >= 2 {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			wait += n
		}
	}
	return time.Duration(wait)
}
