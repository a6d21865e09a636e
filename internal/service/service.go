// Package service holds what both processes' mains do the same way: read the
// environment into a config, build the logger, and stop on SIGINT or SIGTERM.
package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sethvargo/go-envconfig"
)

// Validator is a config that can report its problems.
type Validator interface{ Validate() error }

// Load reads the environment into cfg (a pointer to a struct of go-envconfig
// fields) through l, then validates it. The error lists every problem on one
// line and never holds a value.
func Load(ctx context.Context, cfg Validator, l envconfig.Lookuper) error {
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: cfg, Lookuper: l}); err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("configuration: %s", oneLine(err))
	}
	return nil
}

func oneLine(err error) string {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return err.Error()
	}
	parts := make([]string, 0, len(joined.Unwrap()))
	for _, e := range joined.Unwrap() {
		parts = append(parts, e.Error())
	}
	return strings.Join(parts, "; ")
}

// Logger is a JSON logger on w at LOG_LEVEL (debug, info, warn, error;
// default info).
func Logger(w io.Writer, name string) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("LOG_LEVEL"))); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})).With("service", name)
}

// Context is cancelled by SIGINT or SIGTERM, so that a container's stop lets
// in-flight work finish.
func Context() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Exit prints err as one line naming the process and exits with status 1.
func Exit(name string, err error) {
	fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	os.Exit(1)
}
