// Goswitch prices one goroutine switch, the Go counterpart of switchcost
// (tools/switchcost), which prices a switch between processes or threads.
//
// Mode goroutines: two goroutines ping-pong one byte over two unbuffered
// channels; with GOMAXPROCS=1 every round trip is two goroutine switches
// (to the partner and back), done by the Go scheduler without the kernel.
// Mode channel prices the channel operations alone: one goroutine makes
// the same 2 sends and 2 receives on a buffered channel of size 1, none of
// which blocks, so
//
//	ns per switch = (goroutines round trip - channel round trip) / 2.
//
// Goswitch does not pin itself: the runner sets the CPUs (taskset) and
// GOMAXPROCS, and both are recorded in the JSON object printed on stdout.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const prog = "goswitch"

const usage = `usage: goswitch --mode goroutines|channel [--seconds S]

Ping-pong one byte between goroutines and print the cost of a round trip as
one JSON object on stdout.

  --mode goroutines  two goroutines, two unbuffered channels: 2 goroutine
                     switches per round trip (with GOMAXPROCS=1)
  --mode channel     one goroutine makes the same 2 sends and 2 receives on
                     a buffered channel of size 1: the channel operations
                     alone, no switch
  --seconds S        timed wall time, after a short warm-up (default 1)
  --help             print this help and exit

ns per switch = (round trip of goroutines - round trip of channel) / 2.
The CPUs are this process's affinity (set them with taskset) and
GOMAXPROCS is the runtime's (set it with the GOMAXPROCS variable); the
JSON records both.
`

const (
	// Round trips between two reads of the clock: about batchTime's worth
	// at the warm-up's pace, between batchMin and batchMax, so that the
	// clock costs nothing measurable and a slow round trip does not make
	// a short run overshoot --seconds by a whole batch.
	batchTime = 2 * time.Millisecond
	batchMin  = 64
	batchMax  = 4096
	// The warm-up lasts a fifth of the run, at most this long.
	warmupMax = 50 * time.Millisecond
)

type config struct {
	mode    string
	seconds float64
}

// result is the JSON object printed, in the shape switchcost prints.
type result struct {
	Mode           string  `json:"mode"`
	CPUs           []int   `json:"cpus"`
	GOMAXPROCS     int     `json:"gomaxprocs"`
	RoundTrips     uint64  `json:"round_trips"`
	ElapsedNs      int64   `json:"elapsed_ns"`
	NsPerRoundTrip float64 `json:"ns_per_round_trip"`
}

// A pair of channels and a batch of n round trips over them.
type batchFunc func(n uint64)

func main() {
	cfg := parseFlags(os.Args[1:])
	cpus, err := allowedCPUs()
	if err != nil {
		fatalf(1, "%v", err)
	}

	var batch batchFunc
	stop := func() {}
	switch cfg.mode {
	case "goroutines":
		batch, stop = pingPong()
	case "channel":
		batch = channelOnly()
	}
	roundTrips, elapsed := runTimed(batch, time.Duration(cfg.seconds*float64(time.Second)))
	stop()

	ns := float64(elapsed.Nanoseconds()) / float64(roundTrips)
	line, err := json.Marshal(result{
		Mode:           cfg.mode,
		CPUs:           cpus,
		GOMAXPROCS:     runtime.GOMAXPROCS(0),
		RoundTrips:     roundTrips,
		ElapsedNs:      elapsed.Nanoseconds(),
		NsPerRoundTrip: math.Round(ns*1000) / 1000,
	})
	if err != nil {
		fatalf(1, "result: %v", err)
	}
	if _, err := os.Stdout.Write(append(line, '\n')); err != nil {
		fatalf(1, "cannot write to stdout: %v", err)
	}
}

// pingPong starts the partner goroutine; stop ends it (closing ping) and
// waits until it has returned.
func pingPong() (batchFunc, func()) {
	ping, pong := make(chan byte), make(chan byte)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for b := range ping {
			pong <- b
		}
	}()
	batch := func(n uint64) {
		for i := uint64(0); i < n; i++ {
			ping <- 'p'
			<-pong
		}
	}
	stop := func() {
		close(ping)
		<-done
	}
	return batch, stop
}

// channelOnly makes a round trip's channel operations without a partner:
// with one slot, every send finds room and every receive finds a value.
func channelOnly() batchFunc {
	c := make(chan byte, 1)
	return func(n uint64) {
		for i := uint64(0); i < n; i++ {
			c <- 'p'
			<-c
			c <- 'p'
			<-c
		}
	}
}

// runTimed warms up, then runs batches until d has passed; the clock is
// read only between batches, so the span ends right after the last round
// trip counted. time.Now carries the monotonic clock.
func runTimed(batch batchFunc, d time.Duration) (uint64, time.Duration) {
	warmup := min(d/5, warmupMax)
	var warm uint64
	start := time.Now()
	for {
		batch(batchMin)
		warm += batchMin
		if time.Since(start) >= warmup {
			break
		}
	}
	n := batchSize(warm, time.Since(start))

	var roundTrips uint64
	start = time.Now()
	for {
		batch(n)
		roundTrips += n
		if elapsed := time.Since(start); elapsed >= d {
			return roundTrips, elapsed
		}
	}
}

func batchSize(roundTrips uint64, elapsed time.Duration) uint64 {
	n := float64(batchTime) * float64(roundTrips) / float64(max(elapsed, 1))
	return uint64(max(batchMin, min(batchMax, n)))
}

// allowedCPUs reads this process's affinity, as the kernel lists it in
// /proc/self/status ("0-1,3"): the CPUs taskset gave it.
func allowedCPUs() ([]int, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return nil, fmt.Errorf("cannot read the CPU affinity: %v", err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		if list, ok := strings.CutPrefix(scanner.Text(), "Cpus_allowed_list:"); ok {
			return parseCPUList(strings.TrimSpace(list))
		}
	}
	if err := scanner.Err(); err != nil {
		return nil, fmt.Errorf("cannot read /proc/self/status: %v", err)
	}
	return nil, errors.New("no Cpus_allowed_list in /proc/self/status")
}

// parseCPUList expands the kernel's list format: "0-2,5" -> [0 1 2 5].
func parseCPUList(list string) ([]int, error) {
	var cpus []int
	for _, item := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(item, "-")
		first, err1 := strconv.Atoi(lo)
		last, err2 := first, error(nil)
		if isRange {
			last, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || last < first {
			return nil, fmt.Errorf("cannot parse the CPU list %q", list)
		}
		for cpu := first; cpu <= last; cpu++ {
			cpus = append(cpus, cpu)
		}
	}
	return cpus, nil
}

// parseFlags exits on anything but a valid command line, with status 2 for
// usage errors, as switchcost and the servers do.
func parseFlags(args []string) config {
	cfg := config{seconds: 1}

	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	// The flag package would print errors without our prefix and its
	// single-dash usage; we print both ourselves.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	fs.Func("mode", "", func(s string) error {
		switch s {
		case "goroutines", "channel":
			cfg.mode = s
			return nil
		}
		return fmt.Errorf("%q is neither goroutines nor channel", s)
	})
	fs.Func("seconds", "", func(s string) error {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 {
			return errors.New("not a positive number")
		}
		if v > 86400 {
			return errors.New("more than a day")
		}
		cfg.seconds = v
		return nil
	})

	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Print(usage)
		os.Exit(0)
	}
	if err != nil {
		fatalf(2, "%v (see --help)", err)
	}
	if fs.NArg() > 0 {
		fatalf(2, "unexpected argument %q (see --help)", fs.Arg(0))
	}
	if cfg.mode == "" {
		fatalf(2, "missing --mode goroutines|channel (see --help)")
	}
	return cfg
}

func fatalf(status int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, prog+": "+format+"\n", args...)
	os.Exit(status)
}
