package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// greeting is sent first to every client; clients wait for it, which
// proves that a handler (not just the kernel's handshake) is running.
const greeting = "HELLO papaya-bench\n"

// readSize matches papayachat's read buffer, so that both servers make the
// same number of system calls for the same traffic.
const readSize = 4096

// quotedReadSize is the 2022 study's Go server's buffer (--relay quoted).
const quotedReadSize = 1024

type server struct {
	maxClients int
	quoted     bool // relay as the 2022 server did (--relay quoted)
	reply      bool // write each read back to its client too (--reply)

	mu    sync.Mutex
	conns map[net.Conn]struct{} // live clients, closed by stop

	wg sync.WaitGroup // one per handler goroutine

	// Only the accept loop touches these, and they are read after it ends.
	accepted uint64
	refused  uint64

	bytesReceived atomic.Uint64
	reads         atomic.Uint64 // reads that returned data: the handlers' wake-ups
}

func newServer(maxClients int, quoted, reply bool) *server {
	return &server{
		maxClients: maxClients,
		quoted:     quoted,
		reply:      reply,
		conns:      make(map[net.Conn]struct{}),
	}
}

// serve accepts clients until ln is closed. Other accept errors, such as
// running out of file descriptors, pass once clients leave, so they are
// reported and retried rather than ending the server.
func (s *server) serve(ln net.Listener) {
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			delay = backoff(delay)
			fmt.Fprintf(os.Stderr, "%s: accept: %v; retrying in %v\n", prog, err, delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !s.track(conn) {
			s.refused++
			conn.Close()
			continue
		}
		s.accepted++
		s.wg.Add(1)
		go s.handle(conn)
	}
}

// backoff doubles the wait between failing accepts, as net/http does, so a
// persistent error neither spins the CPU nor floods stderr.
func backoff(d time.Duration) time.Duration {
	const first, limit = 5 * time.Millisecond, time.Second
	if d == 0 {
		return first
	}
	return min(2*d, limit)
}

// track registers conn unless the server is full.
func (s *server) track(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.conns) >= s.maxClients {
		return false
	}
	s.conns[conn] = struct{}{}
	return true
}

func (s *server) forget(conn net.Conn) {
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
	conn.Close()
}

// handle relays the client's bytes to stdout with one write per read until
// the client closes. Reading until EOF, not just until the client's last
// message, ensures everything it sent before closing is relayed and counted.
func (s *server) handle(conn net.Conn) {
	defer s.wg.Done()
	defer s.forget(conn)

	// Counted locally and published once, to keep atomics off the
	// per-message path the benchmark measures.
	var total, reads uint64
	defer func() {
		s.bytesReceived.Add(total)
		s.reads.Add(reads)
	}()

	if _, err := io.WriteString(conn, greeting); err != nil {
		return // the client left before it was greeted
	}
	buf := make([]byte, readSize)
	if s.quoted {
		buf = make([]byte, quotedReadSize)
	}
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			s.relay(buf[:n])
			total += uint64(n)
			reads++
			if s.reply {
				if _, werr := conn.Write(buf[:n]); werr != nil {
					return // the client left before its reply
				}
			}
		}
		if err != nil {
			return // EOF, a reset, or stop closing conn: all end the session
		}
	}
}

// relay writes one read to stdout, unbuffered: one write(2) per read(2), as
// in papayachat, or with --relay quoted the 2022 server's formatting, whose
// user-space cost has nothing to do with the concurrency model.
func (s *server) relay(b []byte) {
	var err error
	if s.quoted {
		_, err = fmt.Printf("%q\n", b)
	} else {
		_, err = os.Stdout.Write(b)
	}
	if err != nil {
		fatalf(1, "write to stdout: %v", err)
	}
}

// stop closes every client connection, which ends their blocked reads, and
// waits for the handlers. The accept loop must have returned, so no new
// client can slip in after the connections are closed.
func (s *server) stop() {
	s.mu.Lock()
	for conn := range s.conns {
		conn.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}
