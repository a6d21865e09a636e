package receiver

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the receiver's part of the environment.
type Config struct {
	Addr string `env:"HTTP_ADDR, default=:8080"`
	// CallSecrets and RazorpaySecrets verify the two routes; several secrets,
	// comma-separated, are all accepted while one replaces another.
	CallSecrets     Secrets  `env:"CALL_WEBHOOK_SECRET"`
	RazorpaySecrets Secrets  `env:"RAZORPAY_WEBHOOK_SECRET"`
	BodyLimit       ByteSize `env:"WEBHOOK_BODY_LIMIT, default=1MiB"`
	// HandoffTimeout bounds SignalWithStart: past it the sender gets 503 and
	// retries. Senders give up on a delivery after 5 s.
	HandoffTimeout time.Duration `env:"HANDOFF_TIMEOUT, default=2s"`
	// ReadTimeout bounds reading a whole request (headers and body),
	// WriteTimeout writing its response, IdleTimeout how long a keep-alive
	// connection may wait for its next request. Zero means the built-in
	// default (10s, 10s, 60s).
	ReadTimeout  time.Duration `env:"HTTP_READ_TIMEOUT, default=10s"`
	WriteTimeout time.Duration `env:"HTTP_WRITE_TIMEOUT, default=10s"`
	IdleTimeout  time.Duration `env:"HTTP_IDLE_TIMEOUT, default=60s"`
	// TaskQueue is where new workflows are started; main sets it from
	// TEMPORAL_TASK_QUEUE (workflows.DefaultTaskQueue when empty).
	TaskQueue string
}

// Validate reports every problem with the configuration at once, each naming
// its variable.
func (c Config) Validate() error {
	var errs []error
	for _, s := range []struct {
		name    string
		secrets Secrets
	}{{"CALL_WEBHOOK_SECRET", c.CallSecrets}, {"RAZORPAY_WEBHOOK_SECRET", c.RazorpaySecrets}} {
		if len(s.secrets) == 0 {
			errs = append(errs, fmt.Errorf("%s is required", s.name))
		}
		if slices.ContainsFunc(s.secrets, isPlaceholder) {
			errs = append(errs, fmt.Errorf("%s still holds a placeholder of .env.example (change-me…): set the sender's real secret", s.name))
		}
	}
	if c.BodyLimit <= 0 {
		errs = append(errs, errors.New("WEBHOOK_BODY_LIMIT must be positive"))
	}
	if c.HandoffTimeout <= 0 || c.HandoffTimeout >= 5*time.Second {
		errs = append(errs, errors.New("HANDOFF_TIMEOUT must be between 0 and 5s, the senders' deadline"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"HTTP_READ_TIMEOUT", c.ReadTimeout}, {"HTTP_WRITE_TIMEOUT", c.WriteTimeout}, {"HTTP_IDLE_TIMEOUT", c.IdleTimeout}} {
		if d.v < 0 {
			errs = append(errs, fmt.Errorf("%s must not be negative", d.name))
		}
	}
	return errors.Join(errs...)
}

// isPlaceholder reports a secret left as .env.example has it: a secret
// everybody can read would let anyone sign events.
func isPlaceholder(secret []byte) bool { return bytes.HasPrefix(secret, []byte("change-me")) }

// Secrets is a comma-separated list of webhook secrets. It never prints its
// values.
type Secrets [][]byte

// EnvDecode splits the variable on commas, dropping surrounding spaces and
// empty items.
func (s *Secrets) EnvDecode(v string) error {
	var out Secrets
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, []byte(part))
		}
	}
	*s = out
	return nil
}

// String hides the values.
func (s Secrets) String() string { return fmt.Sprintf("[%d secrets redacted]", len(s)) }

// LogValue hides the values from slog.
func (s Secrets) LogValue() slog.Value { return slog.StringValue(s.String()) }

// ByteSize is a size in bytes, written as a plain number or with a unit:
// B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
type ByteSize int64

var byteUnits = []struct {
	suffix string
	factor int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
	{"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000},
	{"B", 1},
}

// EnvDecode parses a size such as 1MiB, 512KB or 65536.
func (b *ByteSize) EnvDecode(v string) error {
	n, err := ParseByteSize(v)
	if err != nil {
		return err
	}
	*b = n
	return nil
}

// ParseByteSize parses a size such as 1MiB, 512KB or 65536.
func ParseByteSize(v string) (ByteSize, error) {
	s := strings.TrimSpace(v)
	factor := int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, factor = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<31-1)/factor {
		return 0, fmt.Errorf("size %q: want a positive whole number of bytes below 2GiB, optionally with KiB, MiB, KB or MB", v)
	}
	return ByteSize(n * factor), nil
}
