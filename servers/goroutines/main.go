// Goroutines is the chat server that serves every client from its own
// goroutine. It is the counterpart of papayachat, which forks a process per
// client; both keep the same command line, greeting and system calls per
// message, so that the benchmark compares only the concurrency models.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
)

const prog = "goroutines"

const usage = `usage: goroutines [--host HOST] [--port PORT] [--ready-file PATH]
                  [--max-clients N] [--relay raw|quoted] [--reply]

Relay what each client sends to stdout, one goroutine per client.

  --host HOST        address to listen on (default 127.0.0.1)
  --port PORT        TCP port; 0 picks any free port (default 0)
  --ready-file PATH  once listening, write the bound port to PATH
  --max-clients N    close connections beyond N concurrent clients
                     (default 4096)
  --relay MODE       raw: 4096-byte reads, each written to stdout as it
                     came, as papayachat does (default); quoted: 1024-byte
                     reads, each printed with fmt.Printf("%q\n"), as the
                     2022 study's Go server did
  --reply            also write each read back to its client, for
                     loadgen --latency to time
  --help             print this help and exit

On SIGTERM or SIGINT, close every connection and print a JSON summary
on stderr.
`

type config struct {
	host       string
	port       uint64
	readyFile  string
	maxClients uint64
	quoted     bool
	reply      bool
}

func main() {
	cfg := parseFlags(os.Args[1:])

	// Registered before listening so that a signal sent as soon as the
	// ready file appears still ends in a summary rather than a plain kill.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)

	ln, err := listen(cfg.host, cfg.port)
	if err != nil {
		fatalf(1, "cannot listen on %s:%d: %v", cfg.host, cfg.port, err)
	}
	if cfg.readyFile != "" {
		port := ln.Addr().(*net.TCPAddr).Port
		if err := writeFileAtomic(cfg.readyFile, strconv.Itoa(port)+"\n"); err != nil {
			fatalf(1, "%v", err)
		}
	}

	go func() {
		<-sigs
		ln.Close()
	}()

	s := newServer(int(cfg.maxClients), cfg.quoted, cfg.reply)
	s.serve(ln)
	s.stop()
	printSummary(s)
}

// parseFlags exits on anything but a valid command line, with status 2 for
// usage errors as getopt-based tools (and papayachat) do.
func parseFlags(args []string) config {
	cfg := config{host: "127.0.0.1", maxClients: 4096}

	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	// The flag package would print errors without our prefix and its
	// single-dash usage; we print both ourselves.
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}

	fs.StringVar(&cfg.host, "host", cfg.host, "")
	fs.StringVar(&cfg.readyFile, "ready-file", "", "")
	fs.BoolVar(&cfg.reply, "reply", false, "")
	fs.Func("port", "", func(s string) error {
		return parseUint(s, 0, math.MaxUint16, &cfg.port)
	})
	fs.Func("max-clients", "", func(s string) error {
		return parseUint(s, 1, math.MaxInt32, &cfg.maxClients)
	})
	fs.Func("relay", "", func(s string) error {
		switch s {
		case "raw", "quoted":
			cfg.quoted = s == "quoted"
			return nil
		}
		return fmt.Errorf("relay %q is neither raw nor quoted", s)
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
	return cfg
}

// parseUint accepts only plain decimal numbers, unlike the flag package's
// own integers, which also take hex and octal; papayachat is as strict.
func parseUint(s string, min, max uint64, dst *uint64) error {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return errors.New("not a whole number")
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return errors.New("not a whole number")
	}
	if v < min || v > max {
		return fmt.Errorf("%d is outside %d..%d", v, min, max)
	}
	*dst = v
	return nil
}

// printSummary writes the one line the benchmark harness parses, in a single
// write so that it cannot interleave with anything else on stderr.
func printSummary(s *server) {
	summary := struct {
		Server        string `json:"server"`
		Accepted      uint64 `json:"accepted"`
		Refused       uint64 `json:"refused"`
		BytesReceived uint64 `json:"bytes_received"`
		Reads         uint64 `json:"reads"`
		GOMAXPROCS    int    `json:"gomaxprocs"`
	}{
		Server:        prog,
		Accepted:      s.accepted,
		Refused:       s.refused,
		BytesReceived: s.bytesReceived.Load(),
		Reads:         s.reads.Load(),
		GOMAXPROCS:    runtime.GOMAXPROCS(0),
	}
	line, err := json.Marshal(summary)
	if err != nil {
		fatalf(1, "summary: %v", err)
	}
	if _, err := os.Stderr.Write(append(line, '\n')); err != nil {
		os.Exit(1)
	}
}

func fatalf(status int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, prog+": "+format+"\n", args...)
	os.Exit(status)
}
