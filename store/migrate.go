package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Migrations live in migrations/<dialect>/NNNN_description.sql, where NNNN is
// the version (a positive integer; leading zeros are for sorting by eye).
// Every .sql file in the dialect's directory is picked up. Each file is run as
// one Exec (it may hold several statements) inside its own transaction, with
// its version recorded in schema_migrations in the same transaction; a file
// must therefore not contain BEGIN/COMMIT. Both dialect directories should
// hold the same versions, describing the same logical schema.
//
//go:embed migrations
var migrationsFS embed.FS

// migrationLockKey is the PostgreSQL advisory lock taken by every migration
// transaction, so concurrent Opens (several workers starting at once) apply
// each migration once. The value is arbitrary but must stay fixed:
// "zentrix\x00" read as a big-endian integer.
const migrationLockKey int64 = 0x7a656e7472697800

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations reads the migrations in dir of fsys, ordered by version.
func loadMigrations(fsys fs.FS, dir string) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var ms []migration
	seen := make(map[int]string)
	for _, ent := range entries {
		name := ent.Name()
		if ent.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		prefix, _, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 || strings.TrimLeft(prefix, "0123456789") != "" {
			return nil, fmt.Errorf("migration %s: name must be NNNN_description.sql with NNNN > 0", name)
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s: duplicate version %d", other, name, v)
		}
		seen[v] = name
		body, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		if strings.TrimSpace(string(body)) == "" {
			return nil, fmt.Errorf("migration %s: empty", name)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	return ms, nil
}

func (s *Store) migrationsTableSQL() string {
	if s.dialect == dialectPostgres {
		return `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER     PRIMARY KEY,
	applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)`
	}
	return `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	applied_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f000Z', 'now'))
)`
}

// migrate applies the embedded migrations not yet recorded in
// schema_migrations, in version order, one transaction each.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(migrationsFS, "migrations/"+s.dialect)
	if err != nil {
		return err
	}
	var applied map[int]bool
	err = s.inMigrationTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.migrationsTableSQL()); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		applied, err = appliedVersions(ctx, tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for _, m := range ms {
		if applied[m.version] {
			continue
		}
		err := s.inMigrationTx(ctx, func(tx *sql.Tx) error {
			// Another process may have applied it since we looked: re-check
			// now that we hold the lock.
			var n int
			err := tx.QueryRowContext(ctx,
				s.rebind(`SELECT count(*) FROM schema_migrations WHERE version = ?`), m.version).Scan(&n)
			if err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version) VALUES (?)`), m.version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate: %s: %w", m.name, err)
		}
	}
	return nil
}

// inMigrationTx runs fn in a transaction that holds the migration lock: the
// advisory lock on PostgreSQL, the write lock (BEGIN IMMEDIATE, from the
// DSN's _txlock) on SQLite.
func (s *Store) inMigrationTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op (sql.ErrTxDone) after Commit
	if s.dialect == dialectPostgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+strconv.FormatInt(migrationLockKey, 10)+")"); err != nil {
			return fmt.Errorf("take migration lock: %w", err)
		}
	}
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func appliedVersions(ctx context.Context, tx *sql.Tx) (map[int]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	applied := make(map[int]bool)
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	return applied, nil
}
