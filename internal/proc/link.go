package proc

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Link is a TCP proxy on loopback that holds every chunk it reads for an
// adjustable delay before passing it on, in both directions: a slow network
// to Temporal. Closing it cuts the network.
type Link struct {
	ln     net.Listener
	target string
	delay  atomic.Int64 // nanoseconds

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// NewLink listens on a free loopback port and forwards to target.
func NewLink(target string) (*Link, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	p := &Link{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is where the link listens.
func (p *Link) Addr() string { return p.ln.Addr().String() }

// SetDelay changes the delay of every chunk read from now on.
func (p *Link) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

func (p *Link) serve() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			in.Close()
			continue
		}
		if !p.track(in, out) {
			return
		}
		p.wg.Add(2)
		go p.pipe(out, in)
		go p.pipe(in, out)
	}
}

// track registers a connection pair unless the proxy is closing.
func (p *Link) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

type chunk struct {
	data []byte
	read time.Time
}

// pipe copies src to dst, each chunk no earlier than the delay after it was
// read. Reading goes on while chunks wait, so the delay adds latency without
// capping throughput. When either side fails both are closed.
func (p *Link) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	chunks := make(chan chunk, 1024)
	go func() {
		defer close(chunks)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				chunks <- chunk{data: buf[:n], read: time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range chunks {
		time.Sleep(time.Until(c.read.Add(time.Duration(p.delay.Load()))))
		if _, err := dst.Write(c.data); err != nil {
			break
		}
	}
	dst.Close()
	src.Close()
	for range chunks { // let the reader finish
	}
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// Close stops accepting and cuts every connection.
func (p *Link) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	_ = p.ln.Close()
	p.wg.Wait()
}
