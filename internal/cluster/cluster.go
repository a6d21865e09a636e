// Package cluster runs a Temporal cluster on PostgreSQL on one machine, the
// way production runs it: the real server (go.temporal.io/server, built into
// bin/temporal-server) as four processes, frontend, history, matching and
// the internal worker, each on its own ports, with its schemas applied by
// bin/temporal-sql-tool. `make cluster`, the end-to-end tests, the
// benchmarks and the fault suite start it through Start.
package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/jackc/pgx/v5"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/zentrix/webhooks/internal/proc"
	"github.com/zentrix/webhooks/temporal"
)

// Defaults shared with the temporal service of docker-compose.yml
// (deploy/compose_test.go checks that they agree).
const (
	DefaultShards    = 16
	DefaultDatabase  = "temporal"
	DefaultRetention = 7 * 24 * time.Hour
	// Template is the server configuration, relative to the module root.
	Template = "deploy/temporal/cluster.yaml.tmpl"
	// DynamicConfig is the server's dynamic configuration, relative to the
	// module root: the file docker-compose.yml mounts.
	DynamicConfig = "deploy/temporal/dynamicconfig/production-sql.yaml"
)

// Services of the server, in the order they start. Each runs as a process
// of its own.
var Services = []string{"history", "matching", "frontend", "worker"}

// How long a service has to come up, and the cluster to take the namespace.
const readyWait = 2 * time.Minute

// Ports are where the services listen, all on 127.0.0.1.
type Ports struct {
	Frontend, FrontendHTTP, History, Matching, Worker                           int
	FrontendMembership, HistoryMembership, MatchingMembership, WorkerMembership int
	// Metrics of each service (Prometheus), by service name.
	Metrics map[string]int
}

// DefaultPorts are the ports of Temporal's own development configuration:
// the frontend on 7233, as for the dev server of `make run` (run one or the
// other).
func DefaultPorts() Ports {
	return Ports{
		Frontend: 7233, FrontendHTTP: 7243, History: 7234, Matching: 7235, Worker: 7239,
		FrontendMembership: 6933, HistoryMembership: 6934, MatchingMembership: 6935, WorkerMembership: 6939,
		Metrics: map[string]int{"frontend": 8000, "history": 8001, "matching": 8002, "worker": 8003},
	}
}

// FreePorts are thirteen consecutive ports that were free a moment ago,
// for a cluster of a test. They are below 32768, out of the kernel's
// ephemeral range and within the smallint that Temporal keeps membership
// ports in.
func FreePorts() (Ports, error) {
	for range 50 {
		base := 20000 + mrand.IntN(12000)
		if !allFree(base, 13) {
			continue
		}
		return Ports{
			Frontend: base, FrontendHTTP: base + 1, History: base + 2, Matching: base + 3, Worker: base + 4,
			FrontendMembership: base + 5, HistoryMembership: base + 6, MatchingMembership: base + 7, WorkerMembership: base + 8,
			Metrics: map[string]int{"frontend": base + 9, "history": base + 10, "matching": base + 11, "worker": base + 12},
		}, nil
	}
	return Ports{}, errors.New("no 13 free consecutive ports found")
}

func allFree(base, n int) bool {
	for port := base; port < base+n; port++ {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}

// Config describes a cluster.
type Config struct {
	Root string // the module root: bin/, the template and the dynamic config are found from it
	Dir  string // configuration and logs are written here
	// PostgresURL is a connection to the PostgreSQL server that holds the
	// cluster's databases, with a user allowed to create databases.
	PostgresURL string
	Database    string // the persistence database; visibility is Database+"_visibility"
	Shards      int
	Ports       Ports
	Namespace   string
	Retention   time.Duration
	LogLevel    string // of the services: debug, info, warn or error
	// Detached services outlive the program that started them (make
	// cluster); otherwise they die with it.
	Detached bool
}

func (c *Config) defaults() {
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Shards == 0 {
		c.Shards = DefaultShards
	}
	if c.Ports.Frontend == 0 {
		c.Ports = DefaultPorts()
	}
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.LogLevel == "" {
		c.LogLevel = "warn"
	}
}

// Cluster is a running cluster.
type Cluster struct {
	Config
	// Services by name.
	Services map[string]*proc.Process
}

// Address is the frontend's host:port, for TEMPORAL_ADDRESS.
func (c *Cluster) Address() string { return "127.0.0.1:" + strconv.Itoa(c.Ports.Frontend) }

// Start creates the databases and applies the schemas if needed, writes the
// configuration of each service, starts them, and registers the namespace
// and the search attributes. It returns once a workflow can be started in
// the namespace with them. On error it stops what it started.
func Start(ctx context.Context, cfg Config) (_ *Cluster, err error) {
	cfg.defaults()
	c := &Cluster{Config: cfg, Services: map[string]*proc.Process{}}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if err := os.MkdirAll(filepath.Join(c.Dir, "config"), 0o755); err != nil {
		return nil, err
	}
	if err := c.setupSchemas(ctx); err != nil {
		return nil, err
	}
	if err := c.writeConfigs(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, readyWait)
	defer cancel()
	// One after the other: the first to start writes the cluster's
	// metadata record, which the others would race to create.
	for _, name := range Services {
		p := c.service(name)
		c.Services[name] = p
		if err := p.StartReady(ctx); err != nil {
			return nil, err
		}
	}
	if err := RegisterNamespace(ctx, c.Address(), c.Namespace, c.Retention); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop stops the services, frontend first.
func (c *Cluster) Stop() {
	for i := len(Services) - 1; i >= 0; i-- {
		if p := c.Services[Services[i]]; p != nil {
			p.Stop()
		}
	}
}

// Drop removes the cluster's databases; the cluster must be stopped.
func (c *Cluster) Drop(ctx context.Context) error {
	var errs []error
	for _, db := range []string{c.Database, c.Database + "_visibility"} {
		errs = append(errs, AdminExec(ctx, c.PostgresURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize()+" WITH (FORCE)"))
	}
	return errors.Join(errs...)
}

func (c *Cluster) bin(name string) string { return filepath.Join(c.Root, "bin", name) }

// service is the process of one service of the server.
func (c *Cluster) service(name string) *proc.Process {
	// The internal worker serves no gRPC: the services are up once they
	// listen for their membership ring.
	port := map[string]int{"frontend": c.Ports.FrontendMembership, "history": c.Ports.HistoryMembership,
		"matching": c.Ports.MatchingMembership, "worker": c.Ports.WorkerMembership}[name]
	return &proc.Process{
		Name:     "temporal-" + name,
		Path:     c.bin("temporal-server"),
		Args:     []string{"--root", c.Dir, "--config", "config", "--env", name, "--allow-no-auth", "start", "--service", name},
		Log:      filepath.Join(c.Dir, "temporal-"+name+".log"),
		Detached: c.Detached,
		Ready: func(ctx context.Context) error {
			if name == "frontend" {
				return ping(ctx, c.Address())
			}
			return dial(ctx, port)
		},
	}
}

// setupSchemas creates the two databases and brings their schemas to the
// version this server needs. It is safe on databases that exist: the tool
// then applies only the newer versions, if any.
func (c *Cluster) setupSchemas(ctx context.Context) error {
	u, err := url.Parse(c.PostgresURL)
	if err != nil {
		return errors.New("cluster: the PostgreSQL URL does not parse")
	}
	for _, db := range []struct{ name, schema string }{
		{c.Database, "postgresql/v12/temporal"},
		{c.Database + "_visibility", "postgresql/v12/visibility"},
	} {
		exists, err := databaseExists(ctx, c.PostgresURL, db.name)
		if err != nil {
			return err
		}
		steps := [][]string{{"setup-schema", "-v", "0.0"}, {"update-schema", "--schema-name", db.schema}}
		if !exists {
			steps = append([][]string{{"create-database"}}, steps...)
		}
		for _, step := range steps {
			args := append([]string{"--plugin", "postgres12", "--endpoint", u.Hostname(), "--port", portOf(u),
				"--user", u.User.Username(), "--db", db.name}, step...)
			cmd := exec.CommandContext(ctx, c.bin("temporal-sql-tool"), args...)
			pw, _ := u.User.Password()
			cmd.Env = append(os.Environ(), "SQL_PASSWORD="+pw)
			if out, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("temporal-sql-tool %s on %s: %w\n%s", step[0], db.name, err, lastLines(out, 5))
			}
		}
	}
	return nil
}

// writeConfigs renders the template once per service; only the metrics
// port differs between them.
func (c *Cluster) writeConfigs() error {
	for _, name := range Services {
		b, err := c.ServiceConfig(name)
		if err == nil {
			err = os.WriteFile(filepath.Join(c.Dir, "config", name+".yaml"), b, 0o600)
		}
		if err != nil {
			return fmt.Errorf("write %s configuration: %w", name, err)
		}
	}
	return nil
}

// ServiceConfig is the server configuration of one service (frontend,
// history, matching or worker): the template rendered with c, its defaults
// applied.
func (c Config) ServiceConfig(service string) ([]byte, error) {
	c.defaults()
	tmpl, err := template.ParseFiles(filepath.Join(c.Root, Template))
	if err != nil {
		return nil, fmt.Errorf("cluster template: %w", err)
	}
	u, err := url.Parse(c.PostgresURL)
	if err != nil {
		return nil, errors.New("cluster: the PostgreSQL URL does not parse")
	}
	pw, _ := u.User.Password()
	var b bytes.Buffer
	err = tmpl.Execute(&b, map[string]any{
		"LogLevel": c.LogLevel, "Shards": c.Shards,
		"Database": c.Database, "VisibilityDatabase": c.Database + "_visibility",
		"Postgres": net.JoinHostPort(u.Hostname(), portOf(u)), "User": u.User.Username(), "Password": pw,
		"MetricsAddr":   "127.0.0.1:" + strconv.Itoa(c.Ports.Metrics[service]),
		"Ports":         c.Ports,
		"DynamicConfig": filepath.Join(c.Root, DynamicConfig),
	})
	return b.Bytes(), err
}

// RegisterNamespace registers a namespace and the contract's search
// attributes in the cluster at hostPort unless they exist, then waits until
// the frontend answers queries on them (the services cache both).
func RegisterNamespace(ctx context.Context, hostPort, namespace string, retention time.Duration) error {
	cl, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Logger: quiet()})
	if err != nil {
		return fmt.Errorf("dial the frontend: %w", err)
	}
	defer cl.Close()
	svc := cl.WorkflowService()
	_, err = svc.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        namespace,
		WorkflowExecutionRetentionPeriod: durationpb.New(retention),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("register namespace %s: %w", namespace, err)
	}
	want := map[string]enumspb.IndexedValueType{}
	for _, key := range temporal.SearchAttributes {
		want[key.GetName()] = enumspb.IndexedValueType(key.GetValueType())
	}
	for {
		err := addSearchAttributes(ctx, cl, namespace, want)
		if err == nil {
			err = probe(ctx, cl, namespace)
		}
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("namespace %s not ready: %w", namespace, err)
		}
		_ = proc.Sleep(ctx, 500*time.Millisecond)
	}
}

// DeleteNamespace deletes a namespace and, in the background, its
// workflows.
func DeleteNamespace(ctx context.Context, hostPort, namespace string) error {
	cl, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Logger: quiet()})
	if err != nil {
		return fmt.Errorf("dial the frontend: %w", err)
	}
	defer cl.Close()
	_, err = cl.OperatorService().DeleteNamespace(ctx, &operatorservice.DeleteNamespaceRequest{Namespace: namespace})
	return err
}

func addSearchAttributes(ctx context.Context, cl client.Client, namespace string, want map[string]enumspb.IndexedValueType) error {
	have, err := cl.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range want {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = cl.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: namespace, SearchAttributes: missing,
	})
	if err != nil {
		return fmt.Errorf("add search attributes: %w", err)
	}
	return errors.New("search attributes added, waiting for them to show")
}

// probe lists workflows by a custom search attribute: it answers once the
// frontend knows the namespace and the attribute.
func probe(ctx context.Context, cl client.Client, namespace string) error {
	_, err := cl.WorkflowService().CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{
		Namespace: namespace, Query: temporal.SearchAttributes[0].GetName() + " = 'probe'",
	})
	return err
}

// ping succeeds once the frontend answers its health check.
func ping(ctx context.Context, hostPort string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cl, err := client.DialContext(ctx, client.Options{HostPort: hostPort, Logger: quiet()})
	if err != nil {
		return err
	}
	defer cl.Close()
	_, err = cl.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// dial succeeds once something listens on the port.
func dial(ctx context.Context, port int) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err == nil {
		conn.Close()
	}
	return err
}

func databaseExists(ctx context.Context, admin, name string) (bool, error) {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return false, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	err = conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists)
	return exists, err
}

// AdminExec runs one statement on the PostgreSQL server at admin (CREATE
// or DROP DATABASE, say) on a connection of its own.
func AdminExec(ctx context.Context, admin, sql string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	return "5432"
}

func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func quiet() sdklog.Logger { return sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)) }
