package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"

	"github.com/zentrix/webhooks/loadgen"
)

// Overload (503, a deadline) is counted and tolerated up to maxShed; any
// other error fails the path.
func TestShed(t *testing.T) {
	errs := []error{
		nil,
		fmt.Errorf("post: %w", &loadgen.StatusError{Code: 503}),
		context.DeadlineExceeded,
		serviceerror.NewDeadlineExceeded("deadline"),
	}
	var s shed
	for i, err := range errs {
		if got := s.op(func(context.Context, int) error { return err })(context.Background(), i); !errors.Is(got, err) {
			t.Fatalf("op changed the error %v into %v", err, got)
		}
	}
	if n := s.overloaded.Load(); n != 3 || s.other.Load() != 0 {
		t.Fatalf("overloaded %d, other %d, want 3 and 0", n, s.other.Load())
	}
	if err := s.check("receiver", 3/maxShed); err != nil {
		t.Errorf("3 shed of %.0f: %v", 3/maxShed, err)
	}
	if err := s.check("receiver", 100); err == nil || !strings.Contains(err.Error(), "3 of 100 requests shed") {
		t.Errorf("3 shed of 100: %v", err)
	}
	_ = s.op(func(context.Context, int) error { return &loadgen.StatusError{Code: 500, Body: "boom"} })(context.Background(), 0)
	if err := s.check("receiver", 1000); err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("a 500: %v", err)
	}
}
