// Package service holds what both processes' mains do the same way: read the
// environment into a config, build the logger, and stop on SIGINT or SIGTERM.
package service

import (
	"context"
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

// oneLine lists the leaves of a tree of joined errors, separated by "; ".
func oneLine(err error) string {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return strings.ReplaceAll(err.Error(), "\n", "; ")
	}
	var parts []string
	for _, e := range joined.Unwrap() {
		parts = append(parts, oneLine(e))
	}
	return strings.Join(parts, "; ")
}

// LogConfig is the logging part of the environment.
type LogConfig struct {
	Level slog.Level `env:"LOG_LEVEL, default=info"` // debug, info, warn or error
}

// Logger is a JSON logger on w at the configured level, naming the service.
func Logger(w io.Writer, name string, cfg LogConfig) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: cfg.Level})).With("service", name)
}

// Context is cancelled by SIGINT or SIGTERM, so that a container's stop lets
// in-flight work finish.
func Context() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Exit prints err as one line naming the process and exits with status 1.
func Exit(name string, err error) {
	msg := strings.Join(strings.Fields(oneLine(err)), " ")
	fmt.Fprintf(os.Stderr, "%s: %s\n", name, msg)
	os.Exit(1)
}
