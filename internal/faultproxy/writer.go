package faultproxy

import (
	"net"
	"time"
)

// writer writes chunks to one side of a connection in order, each no
// earlier than its due time (the Delay fault), and not while the link is
// blackholed.
type writer struct {
	p        *Proxy
	dst      net.Conn
	q        chan chunk
	done     chan struct{} // closed when run returns
	closeAll func()
}

type chunk struct {
	b   []byte
	due time.Time
}

// writerQueue bounds the chunks waiting in one direction; a full queue
// makes the reader wait, which backs pressure up to the sender as TCP
// would.
const writerQueue = 1024

func (p *Proxy) newWriter(dst net.Conn, closeAll func()) *writer {
	return &writer{p: p, dst: dst, q: make(chan chunk, writerQueue), done: make(chan struct{}), closeAll: closeAll}
}

// send queues b; it drops b when the writer has stopped.
func (w *writer) send(b []byte) {
	select {
	case w.q <- chunk{b: b, due: time.Now().Add(w.p.delay())}:
	case <-w.done:
	}
}

// close tells run that nothing more comes; run writes what is queued.
func (w *writer) close() { close(w.q) }

// maxWrite bounds how many queued bytes run gathers into one write.
const maxWrite = 64 << 10

func (w *writer) run() {
	defer close(w.done)
	defer w.closeAll()
	for c := range w.q {
		w.wait(c)
		// One write for everything already queued: a write per NATS
		// message made the proxy cost more than the server.
		buf, open := c.b, true
	gather:
		for open && len(buf) < maxWrite {
			select {
			case more, ok := <-w.q:
				if !ok {
					open = false
					break
				}
				w.wait(more)
				buf = append(buf, more.b...)
			default:
				break gather
			}
		}
		if _, err := w.dst.Write(buf); err != nil || !open {
			return // send stops blocking once done is closed
		}
	}
}

// wait returns once c is due and the link is not blackholed.
func (w *writer) wait(c chunk) {
	if d := time.Until(c.due); d > 0 {
		time.Sleep(d)
	}
	if g := w.p.blackhole(); g != nil {
		<-g
	}
}
