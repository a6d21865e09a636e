package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(http.StatusOK)
		case "/slow":
			time.Sleep(200 * time.Millisecond)
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	if err := probe(srv.URL+"/healthz", time.Second); err != nil {
		t.Errorf("healthy endpoint: %v", err)
	}
	if err := probe(srv.URL+"/readyz", time.Second); err == nil {
		t.Error("503 passed the probe")
	}
	if err := probe(srv.URL+"/slow", 50*time.Millisecond); err == nil {
		t.Error("a timeout passed the probe")
	}
	srv.Close()
	if err := probe(srv.URL+"/healthz", time.Second); err == nil {
		t.Error("a closed server passed the probe")
	}
}
