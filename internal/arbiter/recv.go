package arbiter

import (
	"fmt"
	"net"
	"net/netip"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// receiver reads VRRP adverts with the time the kernel received each one,
// not the time this process got round to reading it: on a busy host the
// difference is what decides whether a holder counts as silent and whether
// an advert is still fresh enough to relay.
type receiver struct {
	conn *net.IPConn
	oob  []byte
}

func newReceiver(c net.PacketConn) (*receiver, error) {
	ipc, ok := c.(*net.IPConn)
	if !ok {
		return nil, fmt.Errorf("arbiter: %T is not a raw IP socket", c)
	}
	rc, err := ipc.SyscallConn()
	if err != nil {
		return nil, err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, fmt.Errorf("arbiter: SO_TIMESTAMPNS: %w", serr)
	}
	return &receiver{conn: ipc, oob: make([]byte, unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{}))))}, nil
}

// read fills buf with the next VRRP message (its IPv4 header removed) and
// returns its length, source and kernel receive time (now, if the kernel
// gave none).
func (r *receiver) read(buf []byte) (int, netip.Addr, time.Time, error) {
	for {
		n, oobn, _, from, err := r.conn.ReadMsgIP(buf, r.oob)
		if err != nil {
			return 0, netip.Addr{}, time.Time{}, err
		}
		at := kernelTime(r.oob[:oobn])
		if at.IsZero() {
			at = time.Now()
		}
		// A raw IPv4 socket hands over the IP header too.
		if n < 20 || buf[0]>>4 != 4 {
			continue
		}
		hl := int(buf[0]&0x0f) * 4
		if hl < 20 || hl > n {
			continue
		}
		src, ok := netip.AddrFromSlice(from.IP.To4())
		if !ok {
			continue
		}
		copy(buf, buf[hl:n])
		return n - hl, src, at, nil
	}
}

// kernelTime returns the SCM_TIMESTAMPNS of oob, or the zero time.
func kernelTime(oob []byte) time.Time {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := *(*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return time.Unix(ts.Unix())
		}
	}
	return time.Time{}
}

func (r *receiver) Close() error { return r.conn.Close() }
