package store_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/zentrix/webhooks/activities"
	"github.com/zentrix/webhooks/store"
)

const defaultTestDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var dialects = []string{"sqlite", "postgres"}

// testDB is a fresh, empty database of one dialect.
type testDB struct {
	dialect string
	url     string // for store.Open
	// For the assertions that look under the Store.
	driver, dsn string
	schema      string // PostgreSQL only
}

// raw opens the database directly, bypassing the Store.
func (d testDB) raw(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open(d.driver, d.dsn)
	if err != nil {
		t.Fatalf("open raw %s: %v", d.dialect, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// forEachDialect runs fn as a parallel subtest per dialect, each with a fresh
// database. The PostgreSQL subtest is skipped when PostgreSQL is unreachable,
// unless CI=true, where it fails.
func forEachDialect(t *testing.T, fn func(t *testing.T, d testDB)) {
	t.Helper()
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			fn(t, newDatabase(t, dialect))
		})
	}
}

func newDatabase(t *testing.T, dialect string) testDB {
	t.Helper()
	switch dialect {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "db", "webhooks.db")
		return testDB{dialect: dialect, url: "sqlite:" + path, driver: "sqlite", dsn: "file:" + path}
	case "postgres":
		return newPostgresSchema(t)
	}
	t.Fatalf("unknown dialect %q", dialect)
	return testDB{}
}

// newStores opens a Store on a fresh database of each dialect (SQLite file in
// t.TempDir(), PostgreSQL schema), keyed by dialect. The PostgreSQL entry is
// absent when PostgreSQL is unreachable and CI is not "true".
func newStores(t *testing.T) map[string]*store.Store {
	t.Helper()
	stores := map[string]*store.Store{}
	sq := newDatabase(t, "sqlite")
	stores["sqlite"] = openStore(t, sq.url)
	if err := pgBaseErr(); err != nil && os.Getenv("CI") != "true" {
		t.Logf("PostgreSQL store omitted: %s is unreachable: %v", redacted(pgBaseURL()), err)
	} else {
		stores["postgres"] = openStore(t, newPostgresSchema(t).url)
	}
	return stores
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := store.Open(ctx, url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func pgBaseURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return defaultTestDatabaseURL
}

// redacted is pgBaseURL without its password, for messages.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable TEST_DATABASE_URL)"
	}
	return u.Redacted()
}

var pgProbe = sync.OnceValue(func() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgBaseURL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
})

func pgBaseErr() error { return pgProbe() }

// newPostgresSchema creates a schema with a random name, returns a database
// whose URL sets search_path to it (pgx sends unknown URL parameters as
// run-time parameters in the startup message), and drops it at cleanup.
func newPostgresSchema(t *testing.T) testDB {
	t.Helper()
	base := pgBaseURL()
	if err := pgBaseErr(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL at %s is unreachable and CI=true: %v", redacted(base), err)
		}
		t.Skipf("PostgreSQL at %s is unreachable (set TEST_DATABASE_URL; CI=true makes this fail): %v", redacted(base), err)
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "store_test_" + hex.EncodeToString(b[:])
	adminExec(t, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	t.Cleanup(func() { adminExec(t, "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE") })

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL is not a URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return testDB{dialect: "postgres", url: u.String(), driver: "pgx", dsn: u.String(), schema: schema}
}

func adminExec(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgBaseURL())
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func adminQueryInt(t *testing.T, sql string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pgBaseURL())
	if err != nil {
		t.Fatalf("connect to PostgreSQL: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func event(source, key string) activities.EventRecord {
	return activities.EventRecord{
		Source:        source,
		EventKey:      key,
		EventType:     "call.completed",
		WorkflowID:    "wf-" + source + "-" + key,
		PayloadSHA256: sum(source + key),
		OccurredAt:    time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC),
		ReceivedAt:    time.Date(2025, 3, 14, 15, 9, 27, 123456000, time.UTC),
	}
}

// wantStored is what Event returns for a written e: UTC, microseconds.
func wantStored(e activities.EventRecord) activities.EventRecord {
	e.OccurredAt = e.OccurredAt.UTC().Truncate(time.Microsecond)
	e.ReceivedAt = e.ReceivedAt.UTC().Truncate(time.Microsecond)
	return e
}

func assertEvent(t *testing.T, got, want activities.EventRecord) {
	t.Helper()
	if got.Source != want.Source || got.EventKey != want.EventKey || got.EventType != want.EventType ||
		got.WorkflowID != want.WorkflowID || got.PayloadSHA256 != want.PayloadSHA256 {
		t.Errorf("event fields:\n got %+v\nwant %+v", got, want)
	}
	if !got.OccurredAt.Equal(want.OccurredAt) || got.OccurredAt.Location() != time.UTC {
		t.Errorf("OccurredAt = %v, want %v in UTC", got.OccurredAt, want.OccurredAt)
	}
	if !got.ReceivedAt.Equal(want.ReceivedAt) || got.ReceivedAt.Location() != time.UTC {
		t.Errorf("ReceivedAt = %v, want %v in UTC", got.ReceivedAt, want.ReceivedAt)
	}
}

func record(t *testing.T, s *store.Store, e activities.EventRecord) bool {
	t.Helper()
	inserted, err := s.RecordEvent(t.Context(), e)
	if err != nil {
		t.Fatalf("RecordEvent(%s/%s): %v", e.Source, e.EventKey, err)
	}
	return inserted
}

func count(t *testing.T, s *store.Store) int {
	t.Helper()
	n, err := s.EventCount(t.Context())
	if err != nil {
		t.Fatalf("EventCount: %v", err)
	}
	return n
}

func TestNewStores(t *testing.T) {
	t.Parallel()
	stores := newStores(t)
	for dialect, s := range stores {
		if got := s.Dialect(); got != dialect {
			t.Errorf("Dialect() = %q, want %q", got, dialect)
		}
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("%s: Ping: %v", dialect, err)
		}
		if n := count(t, s); n != 0 {
			t.Errorf("%s: fresh store has %d events", dialect, n)
		}
	}
}

func TestRecordEventRoundTrip(t *testing.T) {
	t.Parallel()
	ist := time.FixedZone("IST", 5*3600+1800)
	cases := []struct {
		name string
		e    activities.EventRecord
	}{
		{"calls", event(activities.SourceCalls, "call-1")},
		{"razorpay", event(activities.SourceRazorpay, "pay_1:payment.captured")},
		{"nanoseconds truncated, zone converted", func() activities.EventRecord {
			e := event(activities.SourceCalls, "call-2")
			e.OccurredAt = time.Date(2025, 1, 2, 3, 4, 5, 999999999, ist)
			e.ReceivedAt = time.Date(2025, 1, 2, 3, 4, 6, 1, ist)
			return e
		}()},
		{"whole seconds", func() activities.EventRecord {
			e := event(activities.SourceCalls, "call-3")
			e.OccurredAt = time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)
			e.ReceivedAt = time.Unix(1700000000, 0)
			return e
		}()},
		{"unicode and empty optional text", func() activities.EventRecord {
			e := event(activities.SourceRazorpay, "clé-ключ-鍵 ?'\";--")
			e.EventType = ""
			e.WorkflowID = "wf/ünï"
			e.OccurredAt = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
			e.ReceivedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
			return e
		}()},
	}
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		for _, c := range cases {
			if !record(t, s, c.e) {
				t.Errorf("%s: inserted = false on first insert", c.name)
			}
			got, err := s.Event(t.Context(), c.e.Source, c.e.EventKey)
			if err != nil {
				t.Fatalf("%s: Event: %v", c.name, err)
			}
			assertEvent(t, got, wantStored(c.e))
		}
		if n := count(t, s); n != len(cases) {
			t.Errorf("EventCount = %d, want %d", n, len(cases))
		}
	})
}

func TestRecordEventIdempotent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		first := event(activities.SourceRazorpay, "pay_42:payment.captured")
		if !record(t, s, first) {
			t.Fatal("first insert: inserted = false")
		}
		again := first
		again.EventType = "payment.failed"
		again.WorkflowID = "another-workflow"
		again.PayloadSHA256 = sum("different body")
		again.OccurredAt = first.OccurredAt.Add(time.Hour)
		again.ReceivedAt = first.ReceivedAt.Add(time.Hour)
		for i := range 2 {
			if record(t, s, again) {
				t.Errorf("repeat %d: inserted = true", i)
			}
		}
		got, err := s.Event(t.Context(), first.Source, first.EventKey)
		if err != nil {
			t.Fatalf("Event: %v", err)
		}
		assertEvent(t, got, wantStored(first))
		if n := count(t, s); n != 1 {
			t.Errorf("EventCount = %d, want 1", n)
		}
	})
}

func TestSameKeyOtherSource(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		calls := event(activities.SourceCalls, "shared-key")
		pay := event(activities.SourceRazorpay, "shared-key")
		if !record(t, s, calls) || !record(t, s, pay) {
			t.Fatal("inserted = false for a new (source, key)")
		}
		for _, want := range []activities.EventRecord{calls, pay} {
			got, err := s.Event(t.Context(), want.Source, want.EventKey)
			if err != nil {
				t.Fatalf("Event(%s): %v", want.Source, err)
			}
			assertEvent(t, got, wantStored(want))
		}
		if n := count(t, s); n != 2 {
			t.Errorf("EventCount = %d, want 2", n)
		}
	})
}

func TestEventCount(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		for i := range 5 {
			record(t, s, event(activities.SourceCalls, fmt.Sprintf("k%d", i)))
			if n := count(t, s); n != i+1 {
				t.Fatalf("after %d inserts EventCount = %d", i+1, n)
			}
		}
		record(t, s, event(activities.SourceCalls, "k0"))
		if n := count(t, s); n != 5 {
			t.Errorf("after a duplicate EventCount = %d, want 5", n)
		}
	})
}

func TestEventNotFound(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		record(t, s, event(activities.SourceCalls, "present"))
		for _, k := range []struct{ source, key string }{
			{activities.SourceCalls, "absent"},
			{activities.SourceRazorpay, "present"},
			{"nope", "present"},
		} {
			_, err := s.Event(t.Context(), k.source, k.key)
			if !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Event(%q, %q) error = %v, want ErrNotFound", k.source, k.key, err)
			}
			if errors.Is(err, activities.ErrRejected) {
				t.Errorf("Event(%q, %q): not found is marked rejected", k.source, k.key)
			}
		}
	})
}

func TestRecordEventRejected(t *testing.T) {
	t.Parallel()
	mod := func(f func(*activities.EventRecord)) activities.EventRecord {
		e := event(activities.SourceCalls, "bad")
		f(&e)
		return e
	}
	cases := []struct {
		name string
		e    activities.EventRecord
	}{
		{"unknown source", mod(func(e *activities.EventRecord) { e.Source = "stripe" })},
		{"empty source", mod(func(e *activities.EventRecord) { e.Source = "" })},
		{"source wrong case", mod(func(e *activities.EventRecord) { e.Source = "Calls" })},
		{"empty key", mod(func(e *activities.EventRecord) { e.EventKey = "" })},
		{"sha256 too short", mod(func(e *activities.EventRecord) { e.PayloadSHA256 = e.PayloadSHA256[:63] })},
		{"sha256 too long", mod(func(e *activities.EventRecord) { e.PayloadSHA256 += "0" })},
		{"sha256 empty", mod(func(e *activities.EventRecord) { e.PayloadSHA256 = "" })},
		{"sha256 not hex", mod(func(e *activities.EventRecord) { e.PayloadSHA256 = strings.Repeat("g", 64) })},
		{"sha256 uppercase", mod(func(e *activities.EventRecord) { e.PayloadSHA256 = strings.ToUpper(e.PayloadSHA256) })},
		{"NUL in key", mod(func(e *activities.EventRecord) { e.EventKey = "a\x00b" })},
		{"invalid UTF-8 in event type", mod(func(e *activities.EventRecord) { e.EventType = "\xff\xfe" })},
		{"year 10000", mod(func(e *activities.EventRecord) { e.OccurredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })},
		{"year 0", mod(func(e *activities.EventRecord) { e.ReceivedAt = time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC) })},
	}
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		for _, c := range cases {
			inserted, err := s.RecordEvent(t.Context(), c.e)
			if err == nil {
				t.Errorf("%s: RecordEvent succeeded (inserted=%v), want an error", c.name, inserted)
				continue
			}
			if inserted {
				t.Errorf("%s: inserted = true with error %v", c.name, err)
			}
			if !errors.Is(err, activities.ErrRejected) {
				t.Errorf("%s: error %v does not wrap ErrRejected", c.name, err)
			}
			if !strings.HasPrefix(err.Error(), "record event: ") {
				t.Errorf("%s: error %q lacks the record event context", c.name, err)
			}
		}
		if n := count(t, s); n != 0 {
			t.Errorf("EventCount = %d after rejected writes, want 0", n)
		}
		// The store still works after the rejections.
		if !record(t, s, event(activities.SourceCalls, "good")) {
			t.Error("valid insert after rejections: inserted = false")
		}
	})
}

type migrationState struct {
	count  int
	stamps string // applied_at values, in version order
}

func readMigrations(t *testing.T, d testDB) migrationState {
	t.Helper()
	db := d.raw(t)
	rows, err := db.QueryContext(t.Context(), `SELECT version, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var st migrationState
	for rows.Next() {
		var v int
		var at any
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		st.count++
		st.stamps += fmt.Sprintf("%d@%v;", v, at)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestOpenTwice(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s1 := openStore(t, d.url)
		e := event(activities.SourceCalls, "survives")
		record(t, s1, e)
		before := readMigrations(t, d)
		if before.count < 1 {
			t.Fatalf("schema_migrations has %d rows after Open", before.count)
		}
		if err := s1.Close(); err != nil {
			t.Fatal(err)
		}

		s2 := openStore(t, d.url)
		s3 := openStore(t, d.url) // and once more while s2 is open
		if after := readMigrations(t, d); after != before {
			t.Errorf("re-Open changed schema_migrations:\nbefore %+v\n after %+v", before, after)
		}
		for _, s := range []*store.Store{s2, s3} {
			got, err := s.Event(t.Context(), e.Source, e.EventKey)
			if err != nil {
				t.Fatalf("Event after re-Open: %v", err)
			}
			assertEvent(t, got, wantStored(e))
		}
	})
}

func TestConcurrentOpen(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		const n = 4
		var wg sync.WaitGroup
		errs := make([]error, n)
		stores := make([]*store.Store, n)
		for i := range n {
			wg.Go(func() {
				stores[i], errs[i] = store.Open(t.Context(), d.url)
			})
		}
		wg.Wait()
		for i := range n {
			if errs[i] != nil {
				t.Errorf("concurrent Open %d: %v", i, errs[i])
				continue
			}
			t.Cleanup(func() { stores[i].Close() })
			if _, err := stores[i].EventCount(t.Context()); err != nil {
				t.Errorf("store %d: EventCount: %v", i, err)
			}
		}
		st := readMigrations(t, d)
		files, err := filepath.Glob(filepath.Join("migrations", d.dialect, "*.sql"))
		if err != nil {
			t.Fatal(err)
		}
		if st.count != len(files) {
			t.Errorf("schema_migrations has %d rows, want %d (one per migration file)", st.count, len(files))
		}
	})
}

func TestConcurrentRecordEvent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		const workers = 8
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			inserted int
		)
		start := make(chan struct{})
		for i := range workers {
			wg.Go(func() {
				e := event(activities.SourceRazorpay, "race")
				e.WorkflowID = fmt.Sprintf("worker-%d", i)
				<-start
				ok, err := s.RecordEvent(t.Context(), e)
				if err != nil {
					t.Errorf("worker %d: %v", i, err)
					return
				}
				if ok {
					mu.Lock()
					inserted++
					mu.Unlock()
				}
			})
		}
		close(start)
		wg.Wait()
		if inserted != 1 {
			t.Errorf("%d goroutines reported inserted=true, want exactly 1", inserted)
		}
		if n := count(t, s); n != 1 {
			t.Errorf("EventCount = %d, want 1", n)
		}
	})
}

func TestOpenBadURL(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-pa55"
	cases := []string{
		"",
		"mysql://root:" + secret + "@db:3306/webhooks",
		"postgresx://u:" + secret + "@h/db",
		"http://u:" + secret + "@example.com/",
		"file:/tmp/" + secret + ".db",
		"/var/lib/" + secret + ".db",
		"sqlite:",
		"postgres://u:" + secret + "@127.0.0.1:notaport/db",
		"postgres://u:" + secret + "@127.0.0.1/db?sslmode=bogus",
		"postgresql://u:" + secret + "@[::1/db",
	}
	for _, u := range cases {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		s, err := store.Open(ctx, u)
		cancel()
		if err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", u)
			continue
		}
		msg := err.Error()
		if strings.Contains(msg, secret) || (len(u) > len("sqlite:") && strings.Contains(msg, u)) {
			t.Errorf("Open(%q) error echoes the URL: %q", u, msg)
		}
		if errors.Is(err, activities.ErrRejected) {
			t.Errorf("Open(%q) error is marked rejected: %v", u, err)
		}
	}
	_, err := store.Open(t.Context(), "mysql://x")
	for _, form := range []string{"sqlite:PATH", "postgres://", "postgresql://"} {
		if err == nil || !strings.Contains(err.Error(), form) {
			t.Errorf("unsupported-scheme error %v does not name %q", err, form)
		}
	}
}

// freePort returns a local TCP port with nothing listening on it.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestUnavailableIsNotRejected(t *testing.T) {
	t.Parallel()
	t.Run("postgres unreachable", func(t *testing.T) {
		t.Parallel()
		const secret = "s3cr3t-pa55"
		u := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/test?sslmode=disable&connect_timeout=2", secret, freePort(t))
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		s, err := store.Open(ctx, u)
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded with nothing listening")
		}
		if errors.Is(err, activities.ErrRejected) {
			t.Errorf("connection failure is marked rejected: %v", err)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks the password: %v", err)
		}
		t.Logf("unreachable: %v", err)
	})
	t.Run("postgres timeout", func(t *testing.T) {
		t.Parallel()
		s := openStore(t, newPostgresSchema(t).url)
		ctx, cancel := context.WithTimeout(t.Context(), time.Nanosecond)
		defer cancel()
		<-ctx.Done()
		_, err := s.RecordEvent(ctx, event(activities.SourceCalls, "late"))
		if err == nil || errors.Is(err, activities.ErrRejected) {
			t.Errorf("RecordEvent with an expired context: err = %v, want a non-rejected error", err)
		}
	})
	t.Run("sqlite locked", func(t *testing.T) {
		t.Parallel()
		d := newDatabase(t, "sqlite")
		s := openStore(t, d.url)
		// Hold the write lock from another connection.
		conn, err := d.raw(t).Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
			t.Fatal(err)
		}
		defer conn.ExecContext(context.Background(), "ROLLBACK")
		const wait = 300 * time.Millisecond
		ctx, cancel := context.WithTimeout(t.Context(), wait)
		defer cancel()
		start := time.Now()
		_, err = s.RecordEvent(ctx, event(activities.SourceCalls, "locked"))
		if err == nil || errors.Is(err, activities.ErrRejected) {
			t.Errorf("RecordEvent on a locked database: err = %v, want a non-rejected error", err)
		}
		// busy_timeout is in effect: the write waited for the lock until the
		// context expired instead of failing at once.
		if elapsed := time.Since(start); elapsed < wait*3/4 {
			t.Errorf("RecordEvent on a locked database failed after %v (%v), want a wait for the lock", elapsed, err)
		}
		t.Logf("locked: %v", err)
	})
	forEachDialect(t, func(t *testing.T, d testDB) {
		s, err := store.Open(t.Context(), d.url)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		_, err = s.RecordEvent(t.Context(), event(activities.SourceCalls, "closed"))
		if err == nil || errors.Is(err, activities.ErrRejected) {
			t.Errorf("RecordEvent on a closed store: err = %v, want a non-rejected error", err)
		}
		if err := s.Ping(t.Context()); err == nil {
			t.Error("Ping on a closed store succeeded")
		}
	})
}

func TestSQLitePath(t *testing.T) {
	t.Parallel()
	// The parent directories are created, and characters that mean something
	// in a SQLite URI are taken literally.
	path := filepath.Join(t.TempDir(), "a", "we?ird#dir%20", "b", "x.db")
	s := openStore(t, "sqlite:"+path)
	record(t, s, event(activities.SourceCalls, "k"))
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not at the given path: %v", err)
	}
	// journal_mode(WAL) from the DSN took effect.
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no write-ahead log next to the database: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openStore(t, "sqlite:"+path)
	if n := count(t, s2); n != 1 {
		t.Errorf("reopened EventCount = %d, want 1", n)
	}
}

func TestPostgresSchemaIsolation(t *testing.T) {
	t.Parallel()
	a, b := newPostgresSchema(t), newPostgresSchema(t)
	sa, sb := openStore(t, a.url), openStore(t, b.url)
	record(t, sa, event(activities.SourceCalls, "only-in-a"))
	if n := count(t, sb); n != 0 {
		t.Errorf("store on schema b sees %d events written through schema a", n)
	}
	for _, c := range []struct {
		schema string
		want   int
	}{{a.schema, 1}, {b.schema, 0}} {
		got := adminQueryInt(t, "SELECT count(*) FROM "+pgx.Identifier{c.schema, "webhook_events"}.Sanitize())
		if got != c.want {
			t.Errorf("%s.webhook_events has %d rows, want %d", c.schema, got, c.want)
		}
		if n := adminQueryInt(t, "SELECT count(*) FROM "+pgx.Identifier{c.schema, "schema_migrations"}.Sanitize()); n < 1 {
			t.Errorf("%s.schema_migrations has %d rows", c.schema, n)
		}
	}
}

// callRecord is a fully populated call in status ended at revision rev.
func callRecord(id string, rev int64) activities.CallRecord {
	return activities.CallRecord{
		CallID:              id,
		AgentID:             "agent-1",
		CurrentAgentID:      "agent-2",
		InstanceID:          "inst-1",
		Platform:            "twilio",
		Status:              "ended",
		StartedAt:           time.Date(2025, 3, 14, 15, 0, 0, 123456789, time.UTC),
		EndedAt:             time.Date(2025, 3, 14, 15, 9, 26, 535897000, time.UTC),
		DurationSeconds:     566.412441,
		Transcript:          "agent: hello\nuser: hi",
		Sentiment:           "positive",
		Summary:             "greeted",
		DisconnectionReason: "user_hangup",
		Revision:            rev,
		UpdatedAt:           time.Date(2025, 3, 14, 15, 9, 27, 0, time.UTC).Add(time.Duration(rev) * time.Second),
	}
}

func transfer(callID string, seq int, key string) activities.TransferRecord {
	return activities.TransferRecord{
		CallID:        callID,
		Sequence:      seq,
		EventKey:      key,
		FromAgentID:   "agent-" + key,
		ToAgentID:     "agent-to-" + key,
		Reason:        "escalation " + key,
		Context:       `{"key":"` + key + `","turns":[1,2]}`,
		TransferredAt: time.Date(2025, 3, 14, 15, 1, 0, 0, time.UTC).Add(time.Duration(seq) * time.Minute),
	}
}

// transfers numbers the transfers of callID with the given event keys 1, 2, ….
func transfers(callID string, keys ...string) []activities.TransferRecord {
	trs := []activities.TransferRecord{}
	for i, k := range keys {
		trs = append(trs, transfer(callID, i+1, k))
	}
	return trs
}

func callEvent(key string) *activities.EventRecord {
	e := event(activities.SourceCalls, key)
	return &e
}

func snapshot(c activities.CallRecord, trs []activities.TransferRecord, e *activities.EventRecord) activities.CallSnapshot {
	return activities.CallSnapshot{Call: c, Transfers: trs, Event: e}
}

// wantCall is what Call returns for a saved c: UTC, microseconds, and no
// duration without an end time.
func wantCall(c activities.CallRecord) activities.CallRecord {
	c.StartedAt = c.StartedAt.UTC().Truncate(time.Microsecond)
	c.EndedAt = c.EndedAt.UTC().Truncate(time.Microsecond)
	c.UpdatedAt = c.UpdatedAt.UTC().Truncate(time.Microsecond)
	if c.EndedAt.IsZero() {
		c.DurationSeconds = 0
	}
	return c
}

func wantTransfers(trs []activities.TransferRecord) []activities.TransferRecord {
	out := []activities.TransferRecord{}
	for _, tr := range trs {
		tr.TransferredAt = tr.TransferredAt.UTC().Truncate(time.Microsecond)
		out = append(out, tr)
	}
	return out
}

func sameTime(a, b time.Time) bool {
	return a.Equal(b) && a.Location() == time.UTC && a.IsZero() == b.IsZero()
}

func assertCall(t *testing.T, s *store.Store, want activities.CallRecord) {
	t.Helper()
	got, err := s.Call(t.Context(), want.CallID)
	if err != nil {
		t.Fatalf("Call(%s): %v", want.CallID, err)
	}
	gotT, wantT := got, want
	gotT.StartedAt, gotT.EndedAt, gotT.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
	wantT.StartedAt, wantT.EndedAt, wantT.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
	if gotT != wantT {
		t.Errorf("Call(%s) fields:\n got %+v\nwant %+v", want.CallID, gotT, wantT)
	}
	for _, f := range []struct {
		name      string
		got, want time.Time
	}{
		{"StartedAt", got.StartedAt, want.StartedAt},
		{"EndedAt", got.EndedAt, want.EndedAt},
		{"UpdatedAt", got.UpdatedAt, want.UpdatedAt},
	} {
		if !sameTime(f.got, f.want) {
			t.Errorf("Call(%s).%s = %v, want %v in UTC", want.CallID, f.name, f.got, f.want)
		}
	}
}

func assertTransfers(t *testing.T, s *store.Store, callID string, want []activities.TransferRecord) {
	t.Helper()
	got, err := s.CallTransfers(t.Context(), callID)
	if err != nil {
		t.Fatalf("CallTransfers(%s): %v", callID, err)
	}
	if got == nil {
		t.Errorf("CallTransfers(%s) = nil, want a non-nil slice", callID)
	}
	if len(got) != len(want) {
		t.Fatalf("CallTransfers(%s) has %d rows, want %d:\n got %+v\nwant %+v", callID, len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !sameTime(g.TransferredAt, w.TransferredAt) {
			t.Errorf("transfer %d TransferredAt = %v, want %v in UTC", i, g.TransferredAt, w.TransferredAt)
		}
		g.TransferredAt, w.TransferredAt = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("transfer %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func saveCall(t *testing.T, s *store.Store, snap activities.CallSnapshot) {
	t.Helper()
	if err := s.SaveCall(t.Context(), snap); err != nil {
		t.Fatalf("SaveCall(%s rev %d): %v", snap.Call.CallID, snap.Call.Revision, err)
	}
}

// queryInt runs a count query on d directly; ? is rebound for PostgreSQL.
func queryInt(t *testing.T, d testDB, db *sql.DB, q string, args ...any) int {
	t.Helper()
	if d.dialect == "postgres" {
		for i := 1; strings.Contains(q, "?"); i++ {
			q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
		}
	}
	var n int
	if err := db.QueryRowContext(t.Context(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// rowCounts is the number of rows of webhook_events, calls and call_transfers.
func rowCounts(t *testing.T, d testDB, db *sql.DB) [3]int {
	t.Helper()
	var n [3]int
	for i, table := range []string{"webhook_events", "calls", "call_transfers"} {
		n[i] = queryInt(t, d, db, "SELECT count(*) FROM "+table)
	}
	return n
}

func TestSaveCallRoundTrip(t *testing.T) {
	t.Parallel()
	ist := time.FixedZone("IST", 5*3600+1800)
	cases := []struct {
		name string
		snap activities.CallSnapshot
		// the nullable columns stored as NULL: started_at, ended_at, duration_seconds
		nulls int
	}{
		{"ended with transfers", snapshot(callRecord("c-ended", 3), transfers("c-ended", "t1", "t2"), callEvent("c-ended:3")), 0},
		{"in progress, unknown times", func() activities.CallSnapshot {
			c := callRecord("c-live", 1)
			c.Status = "in_progress"
			c.StartedAt, c.EndedAt = time.Time{}, time.Time{}
			c.DurationSeconds = 12.5 // dropped: no ended_at
			c.Transcript, c.Summary, c.Sentiment, c.DisconnectionReason = "", "", "", ""
			return snapshot(c, nil, callEvent("c-live:1"))
		}(), 3},
		{"started, not ended", func() activities.CallSnapshot {
			c := callRecord("c-started", 2)
			c.Status = "transferred"
			c.EndedAt, c.DurationSeconds = time.Time{}, 0
			return snapshot(c, transfers("c-started", "only"), nil)
		}(), 2},
		{"abandoned with zero duration", func() activities.CallSnapshot {
			c := callRecord("c-abandoned", 9)
			c.Status = "abandoned"
			c.DurationSeconds = 0
			return snapshot(c, nil, nil)
		}(), 0},
		{"zones, nanoseconds, extreme years, unicode, long text", func() activities.CallSnapshot {
			c := callRecord("c-ünï ?'\";--", 1<<40)
			c.StartedAt = time.Date(1, 1, 1, 0, 0, 0, 1000, time.UTC)
			c.EndedAt = time.Date(2025, 1, 2, 3, 4, 5, 999999999, ist)
			c.UpdatedAt = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
			c.Transcript = strings.Repeat("नमस्ते — 你好 — hello\n", 50000)
			c.Summary = strings.Repeat("s", 1<<16)
			trs := transfers(c.CallID, "a", "b", "c")
			trs[1].TransferredAt = time.Date(2025, 1, 2, 3, 4, 5, 1, ist)
			trs[2].Context = `{"nested":{"q":"?","emoji":"😀"},"list":[` + strings.Repeat(`"x",`, 10000) + `"y"]}`
			trs[2].FromAgentID, trs[2].Reason = "", ""
			return snapshot(c, trs, callEvent("c-unicode"))
		}(), 0},
	}
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		events := 0
		for _, c := range cases {
			saveCall(t, s, c.snap)
			assertCall(t, s, wantCall(c.snap.Call))
			assertTransfers(t, s, c.snap.Call.CallID, wantTransfers(c.snap.Transfers))
			if c.snap.Event != nil {
				events++
				got, err := s.Event(t.Context(), c.snap.Event.Source, c.snap.Event.EventKey)
				if err != nil {
					t.Fatalf("%s: Event: %v", c.name, err)
				}
				assertEvent(t, got, wantStored(*c.snap.Event))
			}
			nulls := queryInt(t, d, db, `SELECT
				(CASE WHEN started_at IS NULL THEN 1 ELSE 0 END) +
				(CASE WHEN ended_at IS NULL THEN 1 ELSE 0 END) +
				(CASE WHEN duration_seconds IS NULL THEN 1 ELSE 0 END)
				FROM calls WHERE call_id = ?`, c.snap.Call.CallID)
			if nulls != c.nulls {
				t.Errorf("%s: %d NULL time/duration columns, want %d", c.name, nulls, c.nulls)
			}
		}
		if n := count(t, s); n != events {
			t.Errorf("EventCount = %d, want %d", n, events)
		}
	})
}

func TestSaveCallIdempotent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		snap := snapshot(callRecord("c1", 4), transfers("c1", "t1", "t2", "t3"), callEvent("c1:4"))
		saveCall(t, s, snap)
		before := rowCounts(t, d, db)
		saveCall(t, s, snap)
		if after := rowCounts(t, d, db); after != before || after != [3]int{1, 1, 3} {
			t.Errorf("row counts (events, calls, transfers) = %v after the repeat, %v before, want [1 1 3]", after, before)
		}
		assertCall(t, s, wantCall(snap.Call))
		assertTransfers(t, s, "c1", wantTransfers(snap.Transfers))
	})
}

func TestSaveCallNewerRevision(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)

		c1 := callRecord("c1", 1)
		c1.Status, c1.EndedAt, c1.DurationSeconds = "transferred", time.Time{}, 0
		saveCall(t, s, snapshot(c1, transfers("c1", "A", "C"), callEvent("e1")))

		// Revision 2: a transfer found late goes in the middle; all fields change.
		c2 := callRecord("c1", 2)
		c2.AgentID, c2.CurrentAgentID, c2.InstanceID, c2.Platform = "agent-x", "agent-y", "inst-2", "vonage"
		c2.Transcript, c2.Sentiment, c2.Summary, c2.DisconnectionReason = "new transcript", "negative", "new summary", "agent_hangup"
		trs2 := transfers("c1", "A", "B", "C")
		trs2[2].Reason = "changed"
		saveCall(t, s, snapshot(c2, trs2, callEvent("e2")))
		assertCall(t, s, wantCall(c2))
		assertTransfers(t, s, "c1", wantTransfers(trs2))

		// Revision 3 moves back to unknown times and drops every transfer.
		c3 := callRecord("c1", 3)
		c3.Status, c3.StartedAt, c3.EndedAt = "in_progress", time.Time{}, time.Time{}
		saveCall(t, s, snapshot(c3, nil, nil))
		assertCall(t, s, wantCall(c3))
		assertTransfers(t, s, "c1", nil)

		if got := rowCounts(t, d, db); got != [3]int{2, 1, 0} {
			t.Errorf("row counts (events, calls, transfers) = %v, want [2 1 0]", got)
		}
	})
}

func TestSaveCallStale(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		cur := snapshot(callRecord("c1", 5), transfers("c1", "t1", "t2"), callEvent("e5"))
		saveCall(t, s, cur)

		old := callRecord("c1", 3)
		old.Status, old.Summary, old.CurrentAgentID = "transferred", "stale", "someone-else"
		stale := snapshot(old, transfers("c1", "x", "y", "z"), callEvent("e3"))
		saveCall(t, s, stale)
		saveCall(t, s, snapshot(old, nil, nil)) // stale and without an event

		assertCall(t, s, wantCall(cur.Call))
		assertTransfers(t, s, "c1", wantTransfers(cur.Transfers))
		got, err := s.Event(t.Context(), activities.SourceCalls, "e3")
		if err != nil {
			t.Fatalf("the stale snapshot's event was not recorded: %v", err)
		}
		assertEvent(t, got, wantStored(*stale.Event))
		if got := rowCounts(t, d, db); got != [3]int{2, 1, 2} {
			t.Errorf("row counts (events, calls, transfers) = %v, want [2 1 2]", got)
		}
	})
}

func TestSaveCallWithoutEvent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		c := callRecord("c1", 1)
		c.Status = "abandoned"
		saveCall(t, s, snapshot(c, transfers("c1", "t1"), nil))
		assertCall(t, s, wantCall(c))
		if n := count(t, s); n != 0 {
			t.Errorf("EventCount = %d, want 0", n)
		}
	})
}

func TestSaveCallRejected(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value"
	mod := func(f func(*activities.CallSnapshot)) activities.CallSnapshot {
		snap := snapshot(callRecord("bad", 1), transfers("bad", "t1", "t2", "t3"), callEvent("bad:1"))
		f(&snap)
		return snap
	}
	cases := []struct {
		name string
		snap activities.CallSnapshot
	}{
		{"NUL in transcript", mod(func(s *activities.CallSnapshot) { s.Call.Transcript = secret + "\x00" })},
		{"invalid UTF-8 in summary", mod(func(s *activities.CallSnapshot) { s.Call.Summary = secret + "\xff" })},
		{"empty call id", mod(func(s *activities.CallSnapshot) {
			s.Call.CallID = ""
			for i := range s.Transfers {
				s.Transfers[i].CallID = ""
			}
		})},
		{"bad status", mod(func(s *activities.CallSnapshot) { s.Call.Status = secret })},
		{"status wrong case", mod(func(s *activities.CallSnapshot) { s.Call.Status = "Ended" })},
		{"revision 0", mod(func(s *activities.CallSnapshot) { s.Call.Revision = 0 })},
		{"negative revision", mod(func(s *activities.CallSnapshot) { s.Call.Revision = -1 })},
		{"started_at year 10000", mod(func(s *activities.CallSnapshot) {
			s.Call.StartedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		})},
		{"updated_at year 0", mod(func(s *activities.CallSnapshot) {
			s.Call.UpdatedAt = time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)
		})},
		{"NaN duration", mod(func(s *activities.CallSnapshot) { s.Call.DurationSeconds = math.NaN() })},
		{"infinite duration", mod(func(s *activities.CallSnapshot) { s.Call.DurationSeconds = math.Inf(1) })},
		{"sequence gap", mod(func(s *activities.CallSnapshot) { s.Transfers[2].Sequence = 4 })},
		{"sequence from 0", mod(func(s *activities.CallSnapshot) {
			for i := range s.Transfers {
				s.Transfers[i].Sequence = i
			}
		})},
		{"sequences out of order", mod(func(s *activities.CallSnapshot) {
			s.Transfers[0], s.Transfers[1] = s.Transfers[1], s.Transfers[0]
		})},
		{"transfer of another call", mod(func(s *activities.CallSnapshot) { s.Transfers[1].CallID = secret })},
		{"NUL in transfer context", mod(func(s *activities.CallSnapshot) { s.Transfers[2].Context = `{"a":"` + secret + "\x00\"}" })},
		{"transferred_at year 10000", mod(func(s *activities.CallSnapshot) {
			s.Transfers[0].TransferredAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		})},
		{"NUL in event key", mod(func(s *activities.CallSnapshot) { s.Event.EventKey = secret + "\x00" })},
		// Refused by the database: the transaction rolls back.
		{"db: unknown event source", mod(func(s *activities.CallSnapshot) { s.Event.Source = "stripe" })},
		{"db: bad event digest", mod(func(s *activities.CallSnapshot) { s.Event.PayloadSHA256 = secret })},
		{"db: duplicate transfer event key", mod(func(s *activities.CallSnapshot) { s.Transfers[2].EventKey = "t1" })},
		{"db: duplicate key, existing call", func() activities.CallSnapshot {
			trs := transfers("keep", "k1", "k2")
			trs[1].EventKey = "k1"
			return snapshot(callRecord("keep", 2), trs, callEvent("keep:2"))
		}()},
	}
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		keep := snapshot(callRecord("keep", 1), transfers("keep", "k1"), nil)
		saveCall(t, s, keep)
		for _, c := range cases {
			err := s.SaveCall(t.Context(), c.snap)
			if err == nil {
				t.Errorf("%s: SaveCall succeeded, want an error", c.name)
				continue
			}
			if !errors.Is(err, activities.ErrRejected) {
				t.Errorf("%s: error %v does not wrap ErrRejected", c.name, err)
			}
			if !strings.HasPrefix(err.Error(), "save call: ") {
				t.Errorf("%s: error %q lacks the save call context", c.name, err)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error %q quotes the value", c.name, err)
			}
			if got := rowCounts(t, d, db); got != [3]int{0, 1, 1} {
				t.Errorf("%s: row counts (events, calls, transfers) = %v, want [0 1 1]", c.name, got)
			}
		}
		assertCall(t, s, wantCall(keep.Call))
		assertTransfers(t, s, "keep", wantTransfers(keep.Transfers))
		// The store still works after the rejections.
		good := mod(func(*activities.CallSnapshot) {})
		saveCall(t, s, good)
		assertCall(t, s, wantCall(good.Call))
	})
}

func TestSaveCallConcurrent(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		db := d.raw(t)
		const (
			revisions = 8
			rounds    = 5
		)
		for round := range rounds {
			id := fmt.Sprintf("race-%d", round)
			snaps := make([]activities.CallSnapshot, revisions+1)
			for rev := 1; rev <= revisions; rev++ {
				c := callRecord(id, int64(rev))
				c.Summary = fmt.Sprintf("revision %d", rev)
				var keys []string
				for i := range rev%4 + 1 {
					keys = append(keys, fmt.Sprintf("r%d-t%d", rev, i))
				}
				snaps[rev] = snapshot(c, transfers(id, keys...), callEvent(fmt.Sprintf("%s:%d", id, rev)))
			}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for rev := 1; rev <= revisions; rev++ {
				wg.Go(func() {
					<-start
					if err := s.SaveCall(t.Context(), snaps[rev]); err != nil {
						t.Errorf("%s rev %d: SaveCall: %v", id, rev, err)
					}
				})
			}
			close(start)
			wg.Wait()
			assertCall(t, s, wantCall(snaps[revisions].Call))
			assertTransfers(t, s, id, wantTransfers(snaps[revisions].Transfers))
		}
		if got, want := rowCounts(t, d, db), [3]int{rounds * revisions, rounds, rounds * (revisions%4 + 1)}; got != want {
			t.Errorf("row counts (events, calls, transfers) = %v, want %v", got, want)
		}
	})
}

func TestCallNotFound(t *testing.T) {
	t.Parallel()
	forEachDialect(t, func(t *testing.T, d testDB) {
		s := openStore(t, d.url)
		saveCall(t, s, snapshot(callRecord("present", 1), transfers("present", "t1"), nil))
		_, err := s.Call(t.Context(), "absent")
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Call(absent) error = %v, want ErrNotFound", err)
		}
		if errors.Is(err, activities.ErrRejected) {
			t.Errorf("Call(absent): not found is marked rejected")
		}
		assertTransfers(t, s, "absent", nil)
	})
}
