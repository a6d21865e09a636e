//go:build chaos

package chaos_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/zentrix/webhooks/internal/proc"
)

// pgDatabase is a database of its own on the local PostgreSQL, created for
// one test and dropped after it. The server itself is shared with other
// tests and is never stopped: an outage is the database refusing
// connections.
type pgDatabase struct {
	admin string // URL of the server's maintenance connection
	name  string
	url   string // the database's own URL, for DATABASE_URL
}

// newPostgresDatabase creates the database. Without a reachable server the
// test is skipped, unless CI=true.
func newPostgresDatabase(t *testing.T) *pgDatabase {
	t.Helper()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	d := &pgDatabase{admin: admin, name: "zentrix_chaos_" + hex.EncodeToString(b[:])}
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal("TEST_DATABASE_URL is not a URL")
	}
	u.Path = "/" + d.name
	d.url = u.String()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.exec(ctx, "CREATE DATABASE "+d.name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL: %v", err)
		}
		t.Skipf("PostgreSQL unavailable: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.exec(ctx, "DROP DATABASE IF EXISTS "+d.name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", d.name, err)
		}
	})
	return d
}

// exec runs statements on the maintenance connection.
func (d *pgDatabase) exec(ctx context.Context, sql string, args ...any) error {
	conn, err := pgx.Connect(ctx, d.admin)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// down makes the database unusable for d: it refuses new connections and
// every open one is terminated, again and again, so that a pool cannot keep
// one alive. Then it takes connections again. It returns the outage.
func (d *pgDatabase) down(ctx context.Context, dur time.Duration) (window, error) {
	if err := d.exec(ctx, "ALTER DATABASE "+d.name+" ALLOW_CONNECTIONS false"); err != nil {
		return window{}, err
	}
	w := window{from: time.Now()}
	var err error
	for time.Since(w.from) < dur && err == nil {
		err = d.exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", d.name)
		if err == nil {
			err = proc.Sleep(ctx, 200*time.Millisecond)
		}
	}
	w.to = time.Now()
	// Back up even if the loop failed, with a context of its own.
	upCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if upErr := d.exec(upCtx, "ALTER DATABASE "+d.name+" ALLOW_CONNECTIONS true"); upErr != nil && err == nil {
		err = upErr
	}
	return w, err
}

// restartPostgres stops the local PostgreSQL server (every database on it),
// waits down, and starts it again; it returns the time it was stopped. It
// drives the Debian cluster of /etc/postgresql with pg_ctlcluster, or
// CHAOS_PG_STOP and CHAOS_PG_START (shell commands) where set.
func restartPostgres(ctx context.Context, down time.Duration) (window, error) {
	stop, start := os.Getenv("CHAOS_PG_STOP"), os.Getenv("CHAOS_PG_START")
	if stop == "" || start == "" {
		versions, err := os.ReadDir("/etc/postgresql")
		if err != nil || len(versions) == 0 {
			return window{}, errors.New("no Debian PostgreSQL cluster in /etc/postgresql: set CHAOS_PG_STOP and CHAOS_PG_START")
		}
		ctl := "pg_ctlcluster --skip-systemctl-redirect " + versions[0].Name() + " main "
		stop, start = ctl+"stop -m fast", ctl+"start"
	}
	run := func(command string) error {
		out, err := exec.CommandContext(ctx, "sh", "-c", command).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %w: %s", command, err, out)
		}
		return nil
	}
	if err := run(stop); err != nil {
		return window{}, err
	}
	w := window{from: time.Now()}
	// Started again whatever happens, with a context of its own.
	sleepErr := proc.Sleep(ctx, down)
	w.to = time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := run(start)
	for err == nil && exec.CommandContext(ctx, "pg_isready", "-q", "-h", "127.0.0.1").Run() != nil {
		err = proc.Sleep(ctx, 200*time.Millisecond)
	}
	return w, errors.Join(sleepErr, err)
}
