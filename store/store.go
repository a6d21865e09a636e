// Package store is the system of record, on SQLite (the default) or
// PostgreSQL. The worker's activities write through it: *Store implements
// activities.Store. The schema is kept in SQL migrations embedded in the
// binary, one directory per dialect, and Open applies the pending ones.
//
// Both dialects go through database/sql with one set of query code. Queries
// are written with ? placeholders and rebound to $1, $2, … for PostgreSQL.
// Times are stored in UTC at microsecond precision on both: TIMESTAMPTZ on
// PostgreSQL, fixed-width RFC 3339 text on SQLite.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/zentrix/webhooks/activities"
)

// ErrNotFound is returned (wrapped) by Event, Call, Subscription and Payment
// when no row matches.
var ErrNotFound = errors.New("not found")

var _ activities.Store = (*Store)(nil)

const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// sqliteTimeLayout is how times are stored on SQLite: RFC 3339 in UTC with
// exactly six fractional digits, so text order is time order.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// sqlitePragmas are the DSN parameters of every SQLite connection. modernc
// runs each _pragma value as "PRAGMA <value>" (busy_timeout first).
// _txlock=immediate makes BEGIN take the write lock at once, so that the
// migration runner's re-check under the transaction is race-free across
// processes and writers wait on busy_timeout instead of failing to upgrade.
const sqlitePragmas = "_pragma=busy_timeout(5000)" +
	"&_pragma=journal_mode(WAL)" +
	"&_pragma=synchronous(NORMAL)" +
	"&_pragma=foreign_keys(ON)" +
	"&_txlock=immediate"

// Store is the system of record. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect string
}

// Open connects to the database named by url and applies the embedded
// migrations. Accepted forms:
//
//	sqlite:PATH                        a SQLite file (modernc.org/sqlite, no cgo); its directory is created if missing
//	postgres://… or postgresql://…     PostgreSQL through pgx
//
// Errors never contain the URL, which can hold a password.
func Open(ctx context.Context, url string) (*Store, error) {
	var (
		s   *Store
		err error
	)
	switch {
	case hasPrefixFold(url, "sqlite:"):
		s, err = openSQLite(ctx, url[len("sqlite:"):])
	case hasPrefixFold(url, "postgres://"), hasPrefixFold(url, "postgresql://"):
		s, err = openPostgres(ctx, url)
	default:
		return nil, errors.New("open store: unsupported database URL: want sqlite:PATH, postgres://… or postgresql://…")
	}
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return s, nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// sqlitePathEscaper escapes the characters that would end or alter the path
// part of a SQLite URI filename (SQLite percent-decodes the path) or that
// modernc would take as the start of the DSN parameters.
var sqlitePathEscaper = strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23")

func openSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path (want sqlite:PATH)")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("sqlite: create database directory: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+sqlitePathEscaper.Replace(path)+"?"+sqlitePragmas)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// SQLite has one writer at a time; a single connection serialises this
	// process's writes in the pool instead of in busy-waits.
	db.SetMaxOpenConns(1)
	if err := pingSQLite(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return &Store{db: db, dialect: dialectSQLite}, nil
}

func openPostgres(ctx context.Context, url string) (*Store, error) {
	// Parse here rather than in sql.Open("pgx", url): pgx's parse errors quote
	// the connection string (password redaction is best effort), and the
	// underlying net/url errors quote it verbatim.
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, errors.New("postgres: cannot parse the database URL")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(10)
	db.SetMaxIdleConns(5)
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		// pgconn's connect errors name host, user and database, never the
		// password or the URL.
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &Store{db: db, dialect: dialectPostgres}, nil
}

// Close closes the database.
func (s *Store) Close() error {
	return s.db.Close()
}

// Ping checks that the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// Dialect reports the database in use: "sqlite" or "postgres".
func (s *Store) Dialect() string {
	return s.dialect
}

const insertEventSQL = `INSERT INTO webhook_events
	(source, event_key, event_type, workflow_id, payload_sha256, occurred_at, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, event_key) DO NOTHING`

// execer is what insertEvent writes through: the *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// RecordEvent inserts e once. Recording the same source and key again changes
// nothing and reports inserted == false. Times are stored in UTC, truncated to
// microseconds. Data the database refuses (and text or times that would not
// be stored the same way on both dialects) gives an error that wraps
// activities.ErrRejected.
func (s *Store) RecordEvent(ctx context.Context, e activities.EventRecord) (inserted bool, err error) {
	if err := validate(e); err != nil {
		return false, fmt.Errorf("record event: %w: %w", activities.ErrRejected, err)
	}
	inserted, err = s.insertEvent(ctx, s.db, e)
	if err != nil {
		return false, wrap("record event", err)
	}
	return inserted, nil
}

// insertEvent runs the webhook_events insert of an already validated e
// through q. Errors are the driver's, unwrapped.
func (s *Store) insertEvent(ctx context.Context, q execer, e activities.EventRecord) (inserted bool, err error) {
	res, err := q.ExecContext(ctx, s.rebind(insertEventSQL),
		e.Source, e.EventKey, e.EventType, e.WorkflowID, e.PayloadSHA256,
		s.timeArg(e.OccurredAt), s.timeArg(e.ReceivedAt))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// validate rejects what the two dialects would otherwise treat differently:
// PostgreSQL refuses NUL bytes and invalid UTF-8 in text (SQLite stores
// them), and the SQLite text format has four-digit years.
func validate(e activities.EventRecord) error {
	for _, f := range []struct{ name, v string }{
		{"source", e.Source},
		{"event_key", e.EventKey},
		{"event_type", e.EventType},
		{"workflow_id", e.WorkflowID},
		{"payload_sha256", e.PayloadSHA256},
	} {
		if err := checkText(f.name, f.v); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		name string
		v    time.Time
	}{
		{"occurred_at", e.OccurredAt},
		{"received_at", e.ReceivedAt},
	} {
		if err := checkTime(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// checkText rejects text PostgreSQL would refuse and SQLite would store: NUL
// bytes and invalid UTF-8. The message names the field, not the value.
func checkText(name, v string) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8", name)
	}
	if strings.IndexByte(v, 0) >= 0 {
		return fmt.Errorf("%s contains a NUL byte", name)
	}
	return nil
}

// checkTime rejects times outside the four-digit years of the SQLite format.
// The zero time (year 1) passes.
func checkTime(name string, t time.Time) error {
	if y := truncTime(t).Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%s year %d out of range 1-9999", name, y)
	}
	return nil
}

const selectEventSQL = `SELECT source, event_key, event_type, workflow_id, payload_sha256, occurred_at, received_at
FROM webhook_events
WHERE source = ? AND event_key = ?`

// Event reads one row back. The error wraps ErrNotFound when there is none.
// Times are in UTC.
func (s *Store) Event(ctx context.Context, source, key string) (activities.EventRecord, error) {
	var (
		e                    activities.EventRecord
		occurred, receivedAt timeValue
	)
	err := s.db.QueryRowContext(ctx, s.rebind(selectEventSQL), source, key).Scan(
		&e.Source, &e.EventKey, &e.EventType, &e.WorkflowID, &e.PayloadSHA256, &occurred, &receivedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return activities.EventRecord{}, fmt.Errorf("get event: %w", ErrNotFound)
	}
	if err != nil {
		return activities.EventRecord{}, wrap("get event", err)
	}
	e.OccurredAt, e.ReceivedAt = occurred.t, receivedAt.t
	return e, nil
}

// EventCount counts the rows of webhook_events.
func (s *Store) EventCount(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM webhook_events`).Scan(&n); err != nil {
		return 0, wrap("count events", err)
	}
	return n, nil
}

// rebind turns the ? placeholders of q into $1, $2, … on PostgreSQL. Queries
// in this package never contain a literal question mark.
func (s *Store) rebind(q string) string {
	if s.dialect != dialectPostgres {
		return q
	}
	return rebindDollar(q)
}

func rebindDollar(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func truncTime(t time.Time) time.Time {
	return t.UTC().Truncate(time.Microsecond)
}

// timeArg is the query argument for t: UTC, truncated to microseconds (the
// precision of PostgreSQL), as text on SQLite.
func (s *Store) timeArg(t time.Time) any {
	t = truncTime(t)
	if s.dialect == dialectSQLite {
		return t.Format(sqliteTimeLayout)
	}
	return t
}

// nullTimeArg is timeArg for a nullable column: the zero time (after
// truncation) is NULL.
func (s *Store) nullTimeArg(t time.Time) any {
	if truncTime(t).IsZero() {
		return nil
	}
	return s.timeArg(t)
}

// timeValue scans a time column of either dialect into UTC. NULL (only in
// the nullable columns) scans as the zero time.
type timeValue struct{ t time.Time }

func (v *timeValue) Scan(src any) error {
	switch x := src.(type) {
	case nil:
		v.t = time.Time{}
	case time.Time:
		v.t = x.UTC()
	case string:
		return v.parse(x)
	case []byte:
		return v.parse(string(x))
	default:
		return fmt.Errorf("scan time: unsupported type %T", src)
	}
	return nil
}

func (v *timeValue) parse(s string) error {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("scan time: %w", err)
	}
	v.t = t.UTC()
	return nil
}

// wrap adds context to err and marks it with activities.ErrRejected when the
// database refused the data itself, so that retrying cannot help.
func wrap(op string, err error) error {
	if isRejected(err) {
		return fmt.Errorf("%s: %w: %w", op, activities.ErrRejected, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// pingSQLite opens the first connection. Switching a new file to WAL takes a
// lock that SQLite's busy handler does not wait for, so two processes opening
// the same new database at once can see SQLITE_BUSY here: retry for as long
// as busy_timeout would have waited.
func pingSQLite(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := db.PingContext(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// isBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED.
func isBusy(err error) bool {
	var sqErr *sqlite.Error
	if !errors.As(err, &sqErr) {
		return false
	}
	code := sqErr.Code() & 0xff
	return code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED
}

// isRejected reports whether err is the database refusing the data:
// PostgreSQL SQLSTATE class 22 (data exception: invalid text, value out of
// range, too long, …) or 23 (integrity constraint violation); SQLite
// SQLITE_CONSTRAINT (any extended code), SQLITE_TOOBIG or SQLITE_MISMATCH.
// Connection failures, timeouts, cancellations, serialisation failures and
// SQLITE_BUSY/SQLITE_LOCKED are not rejections: they may succeed on retry.
func isRejected(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23")
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() & 0xff { // primary result code
		case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH:
			return true
		}
	}
	return false
}
