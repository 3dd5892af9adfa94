package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
)

// listen returns the bare cause of a failure, such as "address already in
// use", because the caller names the address itself, as papayachat does.
func listen(host string, port uint64) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.FormatUint(port, 10)))
	if err != nil {
		return nil, cause(err)
	}
	return ln, nil
}

func cause(err error) error {
	var sysErr *os.SyscallError
	if errors.As(err, &sysErr) {
		return sysErr.Err
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return errors.New(dnsErr.Err)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return opErr.Err
	}
	return err
}

// writeFileAtomic writes data beside path and renames it into place, so that
// a harness polling for path never reads a partial port number.
func writeFileAtomic(path, data string) error {
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := writeSynced(tmp, data); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func writeSynced(name, data string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
