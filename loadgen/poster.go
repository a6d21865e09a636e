package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"time"
)

const (
	// DefaultTimeout bounds one Post when NewPoster is given no timeout.
	DefaultTimeout = 5 * time.Second
	// drainLimit bounds how much of a response body Post reads so that the
	// connection can be reused; a longer body costs the connection instead.
	drainLimit = 64 << 10
	// snippetLimit bounds the body excerpt kept in a StatusError.
	snippetLimit = 256
)

// Poster sends webhook requests over a keep-alive HTTP client tuned for
// loopback load.
type Poster struct {
	// Client is built by NewPoster: at most concurrency connections, all kept
	// alive, no compression, no proxy, short timeouts.
	Client *http.Client
}

// NewPoster returns a Poster for up to concurrency requests at once (0 means
// 1); pass an open loop's MaxInFlight here. Requests past concurrency wait
// for a connection rather than dial a new one. A timeout of 0 means
// DefaultTimeout. Call Close when done.
func NewPoster(concurrency int, timeout time.Duration) *Poster {
	concurrency = max(concurrency, 1)
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		MaxIdleConns:          concurrency,
		MaxIdleConnsPerHost:   concurrency,
		MaxConnsPerHost:       concurrency,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: timeout,
		DisableCompression:    true,
	}
	return &Poster{Client: &http.Client{Transport: transport, Timeout: timeout}}
}

// Close closes the Poster's idle connections.
func (p *Poster) Close() {
	p.Client.CloseIdleConnections()
}

// StatusError is what Post returns for a response whose status was not
// wanted.
type StatusError struct {
	Code int
	Body string // start of the response body
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("unexpected status %d %s", e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// Post sends body to url with headers and returns an error unless the
// status is one of want (any 2xx when want is empty). Content-Type defaults
// to application/json. A status outside want gives a *StatusError. The
// response body is drained and closed so the connection is reused.
func (p *Poster) Post(ctx context.Context, url string, body []byte, headers map[string]string, want ...int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.Client.Do(req)
	if err != nil {
		return err // a *url.Error, which already names the method and URL
	}
	defer resp.Body.Close()
	if wanted(resp.StatusCode, want) {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
		return nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, snippetLimit))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
	return fmt.Errorf("post %s: %w", url, &StatusError{
		Code: resp.StatusCode,
		Body: string(bytes.TrimSpace(snippet)),
	})
}

// wanted reports whether code is in want, or is 2xx when want is empty.
func wanted(code int, want []int) bool {
	if len(want) == 0 {
		return code >= 200 && code < 300
	}
	return slices.Contains(want, code)
}
