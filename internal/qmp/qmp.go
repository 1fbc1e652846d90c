// Package qmp is a client of the QEMU Machine Protocol: JSON messages over
// the unix socket QEMU serves with -qmp. One goroutine at a time uses a
// Client; events that arrive while a command waits for its answer are kept
// for WaitEvent.
package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"time"
)

// Client is a QMP connection in command mode.
type Client struct {
	conn   net.Conn
	dec    *json.Decoder
	events []Event
}

// Event is an asynchronous QMP event (SHUTDOWN, BLOCK_JOB_COMPLETED, ...).
type Event struct {
	Name string          `json:"event"`
	Data json.RawMessage `json:"data"`
}

// Error is an error QEMU answered to a command.
type Error struct {
	Command string
	Class   string `json:"class"`
	Desc    string `json:"desc"`
}

func (e *Error) Error() string { return fmt.Sprintf("qmp %s: %s", e.Command, e.Desc) }

type message struct {
	Event  string          `json:"event"`
	Data   json.RawMessage `json:"data"`
	Return json.RawMessage `json:"return"`
	Error  *Error          `json:"error"`
	QMP    json.RawMessage `json:"QMP"`
}

// Dial connects to the socket at path, reads the greeting and enters
// command mode.
func Dial(ctx context.Context, path string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, dec: json.NewDecoder(bufio.NewReader(conn))}
	stop := c.deadline(ctx)
	defer stop()
	var greet message
	if err := c.dec.Decode(&greet); err != nil || greet.QMP == nil {
		conn.Close()
		return nil, fmt.Errorf("qmp %s: no greeting: %v", path, err)
	}
	if _, err := c.exec("qmp_capabilities", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Execute runs command with args (nil: none) and returns its "return" value.
func (c *Client) Execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	stop := c.deadline(ctx)
	defer stop()
	return c.exec(command, args)
}

func (c *Client) exec(command string, args any) (json.RawMessage, error) {
	req := map[string]any{"execute": command}
	if args != nil {
		req["arguments"] = args
	}
	if err := json.NewEncoder(c.conn).Encode(req); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", command, err)
	}
	for {
		var m message
		if err := c.dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("qmp %s: %w", command, err)
		}
		switch {
		case m.Event != "":
			c.events = append(c.events, Event{Name: m.Event, Data: m.Data})
		case m.Error != nil:
			m.Error.Command = command
			return nil, m.Error
		case m.Return != nil:
			return m.Return, nil
		}
	}
}

// WaitEvent returns the first event named name, kept or to come; other
// events are dropped.
func (c *Client) WaitEvent(ctx context.Context, name string) (Event, error) {
	for i, e := range c.events {
		if e.Name == name {
			c.events = c.events[i+1:]
			return e, nil
		}
	}
	c.events = nil
	stop := c.deadline(ctx)
	defer stop()
	for {
		var m message
		if err := c.dec.Decode(&m); err != nil {
			return Event{}, fmt.Errorf("qmp: waiting for %s: %w", name, err)
		}
		if m.Event == name {
			return Event{Name: m.Event, Data: m.Data}, nil
		}
	}
}

// deadline makes reads and writes fail when ctx ends.
func (c *Client) deadline(ctx context.Context) func() {
	if d, ok := ctx.Deadline(); ok {
		c.conn.SetDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { c.conn.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		c.conn.SetDeadline(time.Time{})
	}
}
