package store_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
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
