// Per-file timing of Porcupine on its six key-value histories.
//
// This file is meant to be copied into the root of a Porcupine checkout
// (github.com/anishathalye/porcupine): it is in package porcupine so that it
// can use the key-value model and log parser that Porcupine's own tests define
// (kvModel, parseKvLog in porcupine_test.go), i.e. the history partitioned by
// key, checked with CheckEvents as those tests do. Nothing of Porcupine is
// copied here.
//
// Environment:
//
//	KV_DIR   folder holding c01-ok.txt ... c50-bad.txt (default: test_data/kv)
//	KV_RUNS  timed checks per file (default: 21), after one untimed warm-up
//	KV_OUT   if set, the JSON result is also written to this path
package porcupine

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"testing"
	"time"
)

type kvFileTiming struct {
	File     string  `json:"file"`
	Events   int     `json:"events"`
	Runs     int     `json:"runs"`
	MedianMs float64 `json:"medianMs"`
	MinMs    float64 `json:"minMs"`
	MaxMs    float64 `json:"maxMs"`
	Verdict  string  `json:"verdict"`
	Expected string  `json:"expected"`
}

func TestKvFileTimes(t *testing.T) {
	dir := os.Getenv("KV_DIR")
	if dir == "" {
		dir = filepath.Join("test_data", "kv")
	}
	runs := 21
	if s := os.Getenv("KV_RUNS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			t.Fatalf("KV_RUNS must be a positive integer, got %q", s)
		}
		runs = n
	}
	verdictOf := func(ok bool) string {
		if ok {
			return "linearizable"
		}
		return "not-linearizable"
	}
	var out []kvFileTiming
	for _, name := range []string{"c01-ok", "c01-bad", "c10-ok", "c10-bad", "c50-ok", "c50-bad"} {
		events := parseKvLog(filepath.Join(dir, name+".txt")) // parsed once, not timed
		expected := verdictOf(name[len(name)-3:] == "-ok")
		verdict := verdictOf(CheckEvents(kvModel, events)) // warm-up
		ms := make([]float64, 0, runs)
		for i := 0; i < runs; i++ {
			start := time.Now()
			ok := CheckEvents(kvModel, events)
			ms = append(ms, float64(time.Since(start).Nanoseconds())/1e6)
			if verdictOf(ok) != verdict {
				t.Fatalf("%s: verdict changed between runs", name)
			}
		}
		sort.Float64s(ms)
		out = append(out, kvFileTiming{
			File: name + ".txt", Events: len(events), Runs: runs,
			MedianMs: ms[len(ms)/2], MinMs: ms[0], MaxMs: ms[len(ms)-1],
			Verdict: verdict, Expected: expected,
		})
		if verdict != expected {
			t.Errorf("%s: verdict %s, expected %s", name, verdict, expected)
		}
	}
	doc := map[string]interface{}{
		"goVersion":  runtime.Version(),
		"gomaxprocs": runtime.GOMAXPROCS(0),
		"numCPU":     runtime.NumCPU(),
		"files":      out,
	}
	js, _ := json.MarshalIndent(doc, "", "  ")
	fmt.Println(string(js))
	if p := os.Getenv("KV_OUT"); p != "" {
		if err := os.WriteFile(p, append(js, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
