package haproxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// DefaultCommandTimeout bounds one runtime API exchange when the context has no deadline.
const DefaultCommandTimeout = 5 * time.Second

// maxReply bounds how much of a reply is read; "show stat" for a few hundred
// servers is far below it.
const maxReply = 16 << 20

// Client speaks HAProxy's CLI over a unix socket, one command per connection:
// slower than prompt mode, but a reply can never be confused with the next one.
// It works on both the worker's runtime socket and the master CLI.
type Client struct {
	// Socket is the unix socket path.
	Socket string
	// Timeout bounds each exchange when the context has no earlier deadline
	// (DefaultCommandTimeout when zero).
	Timeout time.Duration
}

// Exec sends one command line and returns HAProxy's whole reply. It does not
// interpret the reply: HAProxy reports errors as text (see Apply).
func (c Client) Exec(ctx context.Context, command string) (string, error) {
	if strings.ContainsAny(command, "\n\r;") {
		return "", fmt.Errorf("runtime command %q must be a single command", command)
	}
	return c.exec(ctx, command)
}

// exec is Exec without the check: a payload command carries lines.
func (c Client) exec(ctx context.Context, command string) (string, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultCommandTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.Socket)
	if err != nil {
		return "", fmt.Errorf("haproxy socket %s: %w", c.Socket, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if _, err := io.WriteString(conn, command+"\n"); err != nil {
		return "", fmt.Errorf("haproxy socket %s: send %q: %w", c.Socket, command, err)
	}
	// Half-closing tells the master CLI, which otherwise keeps the session
	// open, that no more commands follow.
	if uc, ok := conn.(*net.UnixConn); ok {
		_ = uc.CloseWrite()
	}
	reply, err := io.ReadAll(io.LimitReader(conn, maxReply))
	if err != nil {
		return "", fmt.Errorf("haproxy socket %s: reply to %q: %w", c.Socket, command, err)
	}
	return string(reply), nil
}

// Apply runs commands in order and stops at the first one HAProxy refuses.
func (c Client) Apply(ctx context.Context, cmds []Command) error {
	for _, cmd := range cmds {
		if cmd.Op == OpSSLCert {
			if err := c.swapCert(ctx, cmd.File); err != nil {
				return err
			}
			continue
		}
		line := cmd.String()
		if line == "" {
			return fmt.Errorf("invalid runtime command %+v", cmd)
		}
		reply, err := c.Exec(ctx, line)
		if err != nil {
			return err
		}
		if err := checkReply(cmd.Op, reply); err != nil {
			return fmt.Errorf("haproxy refused %q: %w", line, err)
		}
	}
	return nil
}

// swapCert gives the running process a certificate file's current
// contents: a transaction ("set ssl cert <file> <<" and the PEM, ended by
// an empty line), then its commit. The file was written first, so a later
// reload reads the same certificate.
func (c Client) swapCert(ctx context.Context, file string) error {
	if strings.ContainsAny(file, " \n\r;<") {
		return fmt.Errorf("certificate path %q cannot be named on the runtime API", file)
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	payload := strings.TrimSpace(string(pem))
	if strings.Contains(payload, "\n\n") {
		return fmt.Errorf("certificate file %s holds an empty line, which would end the payload", file)
	}
	reply, err := c.exec(ctx, "set ssl cert "+file+" <<\n"+payload+"\n")
	if err != nil {
		return err
	}
	if !strings.Contains(reply, "Transaction created") && !strings.Contains(reply, "Transaction updated") {
		return fmt.Errorf("haproxy refused the new certificate for %s: %s", file, firstLine(strings.TrimSpace(reply)))
	}
	reply, err = c.exec(ctx, "commit ssl cert "+file)
	if err != nil {
		return err
	}
	if !strings.Contains(reply, "Success!") {
		_, _ = c.exec(ctx, "abort ssl cert "+file)
		return fmt.Errorf("haproxy did not commit the new certificate for %s: %s", file, strings.TrimSpace(reply))
	}
	return nil
}

// checkReply recognises success: "set weight" and "set server ... state"
// answer nothing, "set server ... addr" describes what changed. Anything else
// is HAProxy's error text.
func checkReply(op Op, reply string) error {
	r := strings.TrimSpace(reply)
	switch op {
	case OpAddr:
		if strings.HasPrefix(r, "IP changed from") || strings.HasPrefix(r, "no need to change") ||
			strings.HasPrefix(r, "port changed from") {
			return nil
		}
	default:
		if r == "" {
			return nil
		}
	}
	if r == "" {
		return errors.New("empty reply")
	}
	return errors.New(firstLine(r))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Ping checks that the socket answers "show info" as HAProxy.
func (c Client) Ping(ctx context.Context) error {
	reply, err := c.Exec(ctx, "show info")
	if err != nil {
		return err
	}
	if !strings.Contains(reply, "Name: HAProxy") {
		return fmt.Errorf("haproxy socket %s: unexpected reply to show info: %q", c.Socket, firstLine(reply))
	}
	return nil
}
