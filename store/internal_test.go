package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/zentrix/webhooks/activities"
)

func TestRebindDollar(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ?", "a = $1"},
		{"VALUES (?, ?, ?)", "VALUES ($1, $2, $3)"},
		{"WHERE a = ? AND b = ? LIMIT ?", "WHERE a = $1 AND b = $2 LIMIT $3"},
	} {
		if got := rebindDollar(c.in); got != c.want {
			t.Errorf("rebindDollar(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	pg := &Store{dialect: dialectPostgres}
	if got, want := pg.rebind(selectEventSQL), strings.Replace(strings.Replace(selectEventSQL, "?", "$1", 1), "?", "$2", 1); got != want {
		t.Errorf("postgres rebind = %q, want %q", got, want)
	}
	if q := pg.rebind(insertEventSQL); strings.Contains(q, "?") || !strings.Contains(q, "$7)") || strings.Contains(q, "$8") {
		t.Errorf("postgres rebind of the insert: %s", q)
	}
	for _, c := range []struct {
		q    string
		last int
	}{{upsertCallSQL, 15}, {insertTransferSQL, 8}, {deleteTransfersSQL, 1}, {selectCallSQL, 1}, {selectTransfersSQL, 1},
		{upsertSubscriptionSQL, 13}, {upsertPaymentSQL, 12}, {selectSubscriptionSQL, 1}, {selectPaymentSQL, 1},
		{selectPaymentsSQL, 1}, {findByInvoiceSQL, 1}, {findByTokenSQL, 1}, {findByCustomerSQL, 2}} {
		q := pg.rebind(c.q)
		if strings.Contains(q, "?") || !strings.Contains(q, fmt.Sprintf("$%d", c.last)) || strings.Contains(q, fmt.Sprintf("$%d", c.last+1)) {
			t.Errorf("postgres rebind, want $1..$%d: %s", c.last, q)
		}
	}
	sq := &Store{dialect: dialectSQLite}
	if got := sq.rebind(insertEventSQL); got != insertEventSQL {
		t.Errorf("sqlite rebind changed the query: %s", got)
	}
}

func TestLoadMigrations(t *testing.T) {
	fsys := fstest.MapFS{
		"m/0010_ten.sql":     {Data: []byte("ten")},
		"m/0002_two.sql":     {Data: []byte("two")},
		"m/0001_one.sql":     {Data: []byte("one")},
		"m/README.md":        {Data: []byte("not a migration")},
		"m/sub/0003_x.sql":   {Data: []byte("in a subdirectory")},
		"dup/0001_a.sql":     {Data: []byte("a")},
		"dup/1_b.sql":        {Data: []byte("b")},
		"noversion/x.sql":    {Data: []byte("x")},
		"zero/0000_zero.sql": {Data: []byte("z")},
		"sign/+1_plus.sql":   {Data: []byte("p")},
		"empty/0001_e.sql":   {Data: []byte(" \n")},
	}
	ms, err := loadMigrations(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range ms {
		got = append(got, fmt.Sprintf("%d:%s:%s", m.version, m.name, m.sql))
	}
	want := []string{"1:0001_one.sql:one", "2:0002_two.sql:two", "10:0010_ten.sql:ten"}
	if !slices.Equal(got, want) {
		t.Errorf("loadMigrations = %v, want %v", got, want)
	}
	for _, dir := range []string{"dup", "noversion", "zero", "sign", "empty", "missing"} {
		if _, err := loadMigrations(fsys, dir); err == nil {
			t.Errorf("loadMigrations(%s) succeeded, want an error", dir)
		}
	}
}

// TestEmbeddedMigrations checks that both dialects carry the same versions.
func TestEmbeddedMigrations(t *testing.T) {
	versions := map[string][]int{}
	for _, d := range []string{dialectSQLite, dialectPostgres} {
		ms, err := loadMigrations(migrationsFS, "migrations/"+d)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			t.Fatalf("no %s migrations embedded", d)
		}
		for _, m := range ms {
			versions[d] = append(versions[d], m.version)
		}
	}
	if !slices.Equal(versions[dialectSQLite], versions[dialectPostgres]) {
		t.Errorf("migration versions differ: sqlite %v, postgres %v", versions[dialectSQLite], versions[dialectPostgres])
	}
}

func TestIsRejected(t *testing.T) {
	cases := []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "23505"}, true}, // unique_violation
		{&pgconn.PgError{Code: "23514"}, true}, // check_violation
		{&pgconn.PgError{Code: "23502"}, true}, // not_null_violation
		{&pgconn.PgError{Code: "22021"}, true}, // character_not_in_repertoire (NUL, bad UTF-8)
		{&pgconn.PgError{Code: "22001"}, true}, // string_data_right_truncation
		{&pgconn.PgError{Code: "22008"}, true}, // datetime_field_overflow
		{fmt.Errorf("exec: %w", &pgconn.PgError{Code: "23514"}), true},
		{&pgconn.PgError{Code: "57014"}, false}, // query_canceled
		{&pgconn.PgError{Code: "57P01"}, false}, // admin_shutdown
		{&pgconn.PgError{Code: "08006"}, false}, // connection_failure
		{&pgconn.PgError{Code: "40001"}, false}, // serialization_failure
		{&pgconn.PgError{Code: "40P01"}, false}, // deadlock_detected
		{&pgconn.PgError{Code: "53300"}, false}, // too_many_connections
		{&pgconn.PgError{Code: "42P01"}, false}, // undefined_table
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
		{errors.New("driver: bad connection"), false},
	}
	for _, c := range cases {
		if got := isRejected(c.err); got != c.want {
			t.Errorf("isRejected(%v) = %v, want %v", c.err, got, c.want)
		}
		werr := wrap("op", c.err)
		if got := errors.Is(werr, activities.ErrRejected); got != c.want {
			t.Errorf("errors.Is(wrap(%v), ErrRejected) = %v, want %v", c.err, got, c.want)
		}
		if !errors.Is(werr, c.err) {
			t.Errorf("wrap(%v) lost the cause", c.err)
		}
	}
}
