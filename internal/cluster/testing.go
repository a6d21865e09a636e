package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ForTest starts a cluster for one test: free ports, databases of its own
// (dropped afterwards) on the PostgreSQL of TEST_DATABASE_URL (the local one
// by default), logs in the test's temporary directory. It skips the test
// when bin/temporal-server or PostgreSQL is missing, unless CI=true, where
// that is a failure.
func ForTest(t testing.TB) *Cluster {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format, args...)
	}
	for _, bin := range []string{"temporal-server", "temporal-sql-tool"} {
		if _, err := os.Stat(filepath.Join(root, "bin", bin)); err != nil {
			missing("bin/%s not found (make cluster-bin builds it): %v", bin, err)
		}
	}
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		admin = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := databaseExists(ctx, admin, "test"); err != nil {
		missing("PostgreSQL unavailable: %v", err)
	}
	ports, err := FreePorts()
	if err != nil {
		t.Fatal(err)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	dir := t.TempDir()
	ctx, cancel = context.WithTimeout(context.Background(), readyWait+time.Minute)
	defer cancel()
	c, err := Start(ctx, Config{
		Root: root, Dir: dir, PostgresURL: admin, Database: "temporal_test_" + hex.EncodeToString(b[:]),
		Shards: 4, Ports: ports, LogLevel: "error",
	})
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := (&Cluster{Config: Config{PostgresURL: admin, Database: "temporal_test_" + hex.EncodeToString(b[:])}}).Drop(ctx); err != nil {
			t.Errorf("drop the cluster's databases: %v", err)
		}
	}
	if err != nil {
		drop()
		t.Fatalf("start the cluster: %v", err)
	}
	t.Cleanup(func() {
		c.Stop()
		drop()
	})
	return c
}

// ModuleRoot is the directory of go.mod, found from the working directory
// up.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
