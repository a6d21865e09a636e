package deploy_test

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/zentrix/webhooks/temporal"
)

// The repository root, seen from this package's directory.
const root = ".."

var (
	composePath    = filepath.Join(root, "docker-compose.yml")
	envExamplePath = filepath.Join(root, ".env.example")
)

// Long-running services and one-shot jobs, as docker-compose.yml must define them.
var (
	longRunning = []string{"postgresql", "temporal", "temporal-ui", "app-db", "worker", "receiver"}
	jobs        = []string{"temporal-admin-tools", "temporal-create-namespace"}
)

// loadProject loads docker-compose.yml the way `docker compose` does, with
// .env.example (and nothing from this process's environment) as the
// interpolation environment, so that every ${VAR:?} must resolve from it.
// Loading validates the file against the Compose specification's schema and
// checks its consistency (every depends_on target exists, and so on).
func loadProject(t *testing.T, interpolate bool) *types.Project {
	t.Helper()
	opts, err := cli.NewProjectOptions([]string{composePath},
		cli.WithWorkingDirectory(root),
		cli.WithEnvFiles(envExamplePath),
		cli.WithDotEnv,
		cli.WithInterpolation(interpolate),
	)
	if err != nil {
		t.Fatal(err)
	}
	p, err := opts.LoadProject(context.Background())
	if err != nil {
		t.Fatalf("load %s with %s: %v", composePath, envExamplePath, err)
	}
	return p
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("service %s: %v", name, err)
	}
	return s
}

// env returns a service's environment as plain strings.
func env(s types.ServiceConfig) map[string]string {
	out := make(map[string]string, len(s.Environment))
	for k, v := range s.Environment {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// readEnvExample parses .env.example: KEY=VALUE lines, comments and blanks.
func readEnvExample(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(envExamplePath)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok || !regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`).MatchString(k) {
			t.Errorf(".env.example:%d: want KEY=VALUE, got %q", i+1, line)
			continue
		}
		vars[k] = v
	}
	return vars
}

func TestComposeLoadsAndValidates(t *testing.T) {
	p := loadProject(t, true)
	if p.Name != "zentrix" {
		t.Errorf("project name %q, want zentrix", p.Name)
	}
	want := append(slices.Clone(longRunning), jobs...)
	got := p.ServiceNames()
	sort.Strings(want)
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("services %v, want %v", got, want)
	}
	for _, name := range longRunning {
		if r := service(t, p, name).Restart; r != types.RestartPolicyUnlessStopped {
			t.Errorf("%s: restart %q, want %q", name, r, types.RestartPolicyUnlessStopped)
		}
	}
	for _, name := range jobs {
		if r := service(t, p, name).Restart; r != types.RestartPolicyNo {
			t.Errorf("one-shot %s: restart %q, want %q", name, r, types.RestartPolicyNo)
		}
	}
	// Both databases keep their data in named volumes.
	for name, vol := range map[string]string{"postgresql": "temporal-db", "app-db": "app-db"} {
		s := service(t, p, name)
		if !slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
			return v.Type == types.VolumeTypeVolume && v.Source == vol && v.Target == "/var/lib/postgresql/data"
		}) {
			t.Errorf("%s: want named volume %s on /var/lib/postgresql/data, got %+v", name, vol, s.Volumes)
		}
		if _, ok := p.Volumes[vol]; !ok {
			t.Errorf("volume %s is not declared under volumes:", vol)
		}
	}
	// Bind-mounted files exist in the repository.
	for _, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeBind {
				continue
			}
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s mounts %s: %v", s.Name, v.Source, err)
			}
			if !v.ReadOnly {
				t.Errorf("%s mounts %s read-write; want :ro", s.Name, v.Source)
			}
		}
	}
}

var imageRef = regexp.MustCompile(`^(?P<repo>[a-z0-9][a-z0-9._/-]*):(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})$`)

func TestImagesArePinned(t *testing.T) {
	p := loadProject(t, true)
	tags := map[string]string{} // repository -> tag
	for _, s := range p.Services {
		m := imageRef.FindStringSubmatch(s.Image)
		if m == nil {
			t.Errorf("%s: image %q has no explicit tag", s.Name, s.Image)
			continue
		}
		repo, tag := m[1], m[2]
		if tag == "latest" {
			t.Errorf("%s: image %q is not pinned", s.Name, s.Image)
		}
		if s.Build == nil && !regexp.MustCompile(`^\d+\.\d+(\.\d+)?`).MatchString(tag) {
			t.Errorf("%s: image %q: want a version tag", s.Name, s.Image)
		}
		if prev, ok := tags[repo]; ok && prev != tag {
			t.Errorf("%s: %s:%s, but another service runs %s:%s", s.Name, repo, tag, repo, prev)
		}
		tags[repo] = tag
	}
	// admin-tools must match the server it migrates and administers.
	server, tools := tags["temporalio/server"], tags["temporalio/admin-tools"]
	if server == "" || !strings.HasPrefix(tools, server) {
		t.Errorf("temporalio/admin-tools:%s does not belong to temporalio/server:%s", tools, server)
	}
	for _, name := range []string{"postgresql", "app-db"} {
		if img := service(t, p, name).Image; !strings.HasPrefix(img, "postgres:16.") {
			t.Errorf("%s: image %q, want PostgreSQL 16", name, img)
		}
	}
	// The worker and the receiver run the one image built from ./Dockerfile.
	w, r := service(t, p, "worker"), service(t, p, "receiver")
	for _, s := range []types.ServiceConfig{w, r} {
		if s.Build == nil || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("%s: want build from ./Dockerfile, got %+v", s.Name, s.Build)
		}
	}
	if w.Image != r.Image {
		t.Errorf("worker runs %q, receiver %q: want one image", w.Image, r.Image)
	}
	if !slices.Equal(w.Command, types.ShellCommand{"/worker"}) || !slices.Equal(r.Command, types.ShellCommand{"/receiver"}) {
		t.Errorf("commands: worker %q, receiver %q; want /worker and /receiver", w.Command, r.Command)
	}
}

func TestPorts(t *testing.T) {
	p := loadProject(t, true)
	for _, c := range []struct {
		service           string
		target            uint32
		published, hostIP string
	}{
		{"receiver", 8080, "8080", ""},
		{"temporal-ui", 8080, "8233", "127.0.0.1"},
		{"temporal", 7233, "7233", "127.0.0.1"},
		{"worker", 9090, "9090", "127.0.0.1"},
	} {
		s := service(t, p, c.service)
		if !slices.ContainsFunc(s.Ports, func(pc types.ServicePortConfig) bool {
			return pc.Target == c.target && pc.Published == c.published && pc.HostIP == c.hostIP
		}) {
			t.Errorf("%s: want %s:%s->%d, got %+v", c.service, c.hostIP, c.published, c.target, s.Ports)
		}
	}
	// Nothing else is reachable from outside the host: the databases publish nothing.
	for _, s := range p.Services {
		for _, pc := range s.Ports {
			if pc.HostIP == "" && s.Name != "receiver" {
				t.Errorf("%s publishes port %s on every interface", s.Name, pc.Published)
			}
		}
	}
}

func TestDependsOn(t *testing.T) {
	p := loadProject(t, true)
	const healthy, completed = types.ServiceConditionHealthy, types.ServiceConditionCompletedSuccessfully
	want := map[string]map[string]string{
		"temporal-admin-tools":      {"postgresql": healthy},
		"temporal":                  {"postgresql": healthy, "temporal-admin-tools": completed},
		"temporal-create-namespace": {"temporal": healthy},
		"temporal-ui":               {"temporal": healthy},
		"worker":                    {"app-db": healthy, "temporal-create-namespace": completed},
		"receiver":                  {"temporal-create-namespace": completed},
	}
	for _, s := range p.Services {
		got := map[string]string{}
		for dep, d := range s.DependsOn {
			got[dep] = d.Condition
		}
		if w := want[s.Name]; len(got) != len(w) || !mapsEqual(got, w) {
			t.Errorf("%s: depends_on %v, want %v", s.Name, got, w)
		}
		for dep, d := range s.DependsOn {
			target := service(t, p, dep)
			switch d.Condition {
			case healthy:
				if target.HealthCheck == nil || target.HealthCheck.Disable || len(target.HealthCheck.Test) == 0 {
					t.Errorf("%s waits for %s to be healthy, which has no health check", s.Name, dep)
				}
			case completed:
				if target.Restart != types.RestartPolicyNo {
					t.Errorf("%s waits for %s to complete, which restarts (%q)", s.Name, dep, target.Restart)
				}
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return len(a) == len(b)
}

func TestProcessesGetTheirConfiguration(t *testing.T) {
	p := loadProject(t, true)
	example := readEnvExample(t)
	w, r := env(service(t, p, "worker")), env(service(t, p, "receiver"))

	for _, c := range []struct {
		service string
		env     map[string]string
		vars    []string // must be set and non-empty
	}{
		{"receiver", r, []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "HTTP_ADDR",
			"CALL_WEBHOOK_SECRET", "RAZORPAY_WEBHOOK_SECRET"}},
		{"worker", w, []string{"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE", "DATABASE_URL",
			"METRICS_ADDR"}},
	} {
		for _, v := range c.vars {
			if c.env[v] == "" {
				t.Errorf("%s: %s is not set", c.service, v)
			}
		}
	}
	for _, v := range []string{"CALL_WEBHOOK_SECRET", "RAZORPAY_WEBHOOK_SECRET"} {
		if r[v] != example[v] {
			t.Errorf("receiver: %s = %q, want the value from the env file (%q)", v, r[v], example[v])
		}
	}
	// Razorpay API keys: optional, both or neither (the worker refuses one alone).
	for _, v := range []string{"RAZORPAY_KEY_ID", "RAZORPAY_KEY_SECRET"} {
		if got, ok := w[v]; !ok || got != example[v] {
			t.Errorf("worker: %s = %q (set %v), want it passed from the env file (%q)", v, got, ok, example[v])
		}
	}
	if (example["RAZORPAY_KEY_ID"] == "") != (example["RAZORPAY_KEY_SECRET"] == "") {
		t.Error(".env.example: RAZORPAY_KEY_ID and RAZORPAY_KEY_SECRET must be set together")
	}
	if w["HTTP_ADDR"] != "" || r["DATABASE_URL"] != "" {
		t.Error("HTTP_ADDR belongs to the receiver and DATABASE_URL to the worker")
	}

	// Both processes talk to the compose Temporal service, in the namespace the job creates.
	for _, e := range []map[string]string{w, r} {
		host, port, err := net.SplitHostPort(e["TEMPORAL_ADDRESS"])
		if err != nil || host != "temporal" || port != "7233" {
			t.Errorf("TEMPORAL_ADDRESS %q, want temporal:7233", e["TEMPORAL_ADDRESS"])
		}
	}
	ns := env(service(t, p, "temporal-create-namespace"))["DEFAULT_NAMESPACE"]
	if ns == "" || w["TEMPORAL_NAMESPACE"] != ns || r["TEMPORAL_NAMESPACE"] != ns {
		t.Errorf("namespaces: job %q, worker %q, receiver %q; want one", ns, w["TEMPORAL_NAMESPACE"], r["TEMPORAL_NAMESPACE"])
	}
	if w["TEMPORAL_TASK_QUEUE"] != r["TEMPORAL_TASK_QUEUE"] {
		t.Errorf("task queues: worker %q, receiver %q", w["TEMPORAL_TASK_QUEUE"], r["TEMPORAL_TASK_QUEUE"])
	}

	// DATABASE_URL points at app-db, with its user, database and password.
	db := env(service(t, p, "app-db"))
	u, err := url.Parse(w["DATABASE_URL"])
	if err != nil {
		t.Fatalf("DATABASE_URL: %v", err)
	}
	pw, _ := u.User.Password()
	if u.Scheme != "postgres" || u.Host != "app-db:5432" || u.User.Username() != db["POSTGRES_USER"] ||
		pw != db["POSTGRES_PASSWORD"] || pw != example["APP_DB_PASSWORD"] || u.Path != "/"+db["POSTGRES_DB"] {
		t.Errorf("DATABASE_URL %q does not match app-db (user %q, database %q)", u.Redacted(), db["POSTGRES_USER"], db["POSTGRES_DB"])
	}
	// Temporal's server, its schema job and its database share one password.
	tdb := example["TEMPORAL_DB_PASSWORD"]
	if env(service(t, p, "postgresql"))["POSTGRES_PASSWORD"] != tdb ||
		env(service(t, p, "temporal"))["POSTGRES_PWD"] != tdb ||
		env(service(t, p, "temporal-admin-tools"))["SQL_PASSWORD"] != tdb {
		t.Error("postgresql, temporal and temporal-admin-tools do not share TEMPORAL_DB_PASSWORD")
	}
}

// TestEveryVariableIsRead fails when the compose file hands the worker or
// the receiver a variable that no code reads (a typo, or a renamed setting).
func TestEveryVariableIsRead(t *testing.T) {
	read := variablesReadByCode(t)
	p := loadProject(t, true)
	for _, name := range []string{"worker", "receiver"} {
		for v := range env(service(t, p, name)) {
			if !read[v] {
				t.Errorf("%s: %s is set in docker-compose.yml but no code reads it", name, v)
			}
		}
	}
}

// variablesReadByCode collects the go-envconfig tags and os.Getenv names in
// the module's non-test Go files.
func variablesReadByCode(t *testing.T) map[string]bool {
	t.Helper()
	patterns := []*regexp.Regexp{
		regexp.MustCompile("env:\"([A-Z][A-Z0-9_]*)"),
		regexp.MustCompile(`os\.(?:Getenv|LookupEnv)\("([A-Z][A-Z0-9_]*)"\)`),
	}
	read := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); path != root && (strings.HasPrefix(n, ".") || n == "bin" || n == "testdata" || n == "deploy") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range patterns {
			for _, m := range re.FindAllSubmatch(b, -1) {
				read[string(m[1])] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"TEMPORAL_ADDRESS", "CALL_WEBHOOK_SECRET", "DATABASE_URL"} {
		if !read[v] {
			t.Fatalf("found no code reading %s: the scan is broken (found %v)", v, read)
		}
	}
	return read
}

var secretName = regexp.MustCompile(`SECRET|PASSWORD|PWD|API_KEY|DATABASE_URL`)

// TestNoSecretInComposeFile checks that secrets reach the containers only
// through interpolation from .env, and that .env.example covers every
// variable the compose file interpolates.
func TestNoSecretInComposeFile(t *testing.T) {
	raw, err := os.ReadFile(composePath)
	if err != nil {
		t.Fatal(err)
	}
	example := readEnvExample(t)

	// No value of .env.example's secrets appears in the compose file.
	for k, v := range example {
		if secretName.MatchString(k) && v != "" && strings.Contains(string(raw), v) {
			t.Errorf("docker-compose.yml contains the value of %s from .env.example", k)
		}
	}
	// Every secret-named environment entry of every service is interpolated.
	p := loadProject(t, false)
	for _, s := range p.Services {
		for k, v := range env(s) {
			if secretName.MatchString(k) && !strings.Contains(v, "${") {
				t.Errorf("%s: %s is written in docker-compose.yml; take it from .env with ${%s:?...}", s.Name, k, k)
			}
		}
	}
	// DATABASE_URL's password part is interpolated.
	if dsn := env(service(t, p, "worker"))["DATABASE_URL"]; !regexp.MustCompile(`^postgres://[^:@/]+:\$\{[A-Z_]+:\?[^}]*\}@`).MatchString(dsn) {
		t.Errorf("worker: DATABASE_URL %q: want postgres://user:${PASSWORD:?...}@host/db", dsn)
	}

	// .env.example lists exactly the variables the compose file interpolates.
	var content strings.Builder // without whole-line comments
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			content.WriteString(line + "\n")
		}
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(content.String(), -1) {
		used[m[1]] = true
	}
	if regexp.MustCompile(`(^|[^$])\$[A-Za-z_]`).MatchString(content.String()) {
		t.Error("docker-compose.yml uses $VAR without braces; write ${VAR} (or $$ for a literal $)")
	}
	for v := range used {
		if _, ok := example[v]; !ok {
			t.Errorf("docker-compose.yml interpolates %s, which .env.example does not list", v)
		}
	}
	for v := range example {
		if !used[v] {
			t.Errorf(".env.example lists %s, which docker-compose.yml does not use", v)
		}
	}
	// The required secrets fail `docker compose` with a message when .env lacks them.
	for _, v := range []string{"CALL_WEBHOOK_SECRET", "RAZORPAY_WEBHOOK_SECRET", "TEMPORAL_DB_PASSWORD", "APP_DB_PASSWORD"} {
		if !strings.Contains(string(raw), "${"+v+":?") {
			t.Errorf("docker-compose.yml: want ${%s:?message}, so that a missing secret stops docker compose", v)
		}
	}
}

// TestNamespaceJobRegistersTheSearchAttributes ties the compose setup to
// temporal.SearchAttributes: adding an attribute to the code without adding it
// here fails.
func TestNamespaceJobRegistersTheSearchAttributes(t *testing.T) {
	p := loadProject(t, true)
	job := service(t, p, "temporal-create-namespace")
	got := map[string]string{}
	for _, spec := range strings.Fields(env(job)["SEARCH_ATTRIBUTES"]) {
		name, typ, ok := strings.Cut(spec, "=")
		if !ok {
			t.Errorf("SEARCH_ATTRIBUTES: %q is not Name=Type", spec)
			continue
		}
		if _, dup := got[name]; dup {
			t.Errorf("SEARCH_ATTRIBUTES lists %s twice", name)
		}
		got[name] = typ
	}
	want := map[string]string{}
	for _, key := range temporal.SearchAttributes {
		want[key.GetName()] = key.GetValueType().String()
	}
	if !mapsEqual(got, want) {
		t.Errorf("temporal-create-namespace registers %v, temporal.SearchAttributes has %v", got, want)
	}

	// The job's script creates the namespace and each attribute with the temporal CLI.
	if !slices.Equal(job.Entrypoint, types.ShellCommand{"/bin/sh"}) || !slices.Equal(job.Command, types.ShellCommand{"/scripts/create-namespace.sh"}) {
		t.Errorf("temporal-create-namespace runs %q %q", job.Entrypoint, job.Command)
	}
	script := mountedScript(t, job, "/scripts/create-namespace.sh")
	for _, s := range []string{
		"temporal operator namespace create",
		"temporal operator search-attribute create",
		"$SEARCH_ATTRIBUTES",
		"$DEFAULT_NAMESPACE",
	} {
		if !strings.Contains(script, s) {
			t.Errorf("create-namespace.sh does not contain %q", s)
		}
	}
}

func TestSchemaJobMigratesBothDatabases(t *testing.T) {
	p := loadProject(t, true)
	job := service(t, p, "temporal-admin-tools")
	e := env(job)
	server := env(service(t, p, "temporal"))
	if e["SQL_HOST"] != "postgresql" || server["POSTGRES_SEEDS"] != "postgresql" || server["DB"] != "postgres12" {
		t.Errorf("schema job host %q, server seeds %q, DB %q: want postgresql and postgres12", e["SQL_HOST"], server["POSTGRES_SEEDS"], server["DB"])
	}
	if e["SQL_DATABASE"] != server["DBNAME"] || e["SQL_VISIBILITY_DATABASE"] != server["VISIBILITY_DBNAME"] ||
		e["SQL_DATABASE"] != "temporal" || e["SQL_VISIBILITY_DATABASE"] != "temporal_visibility" {
		t.Errorf("schema job migrates %q and %q, the server uses %q and %q", e["SQL_DATABASE"], e["SQL_VISIBILITY_DATABASE"], server["DBNAME"], server["VISIBILITY_DBNAME"])
	}
	script := mountedScript(t, job, "/scripts/setup-postgres.sh")
	for _, s := range []string{
		"temporal-sql-tool --plugin postgres12",
		" create", "setup-schema -v 0.0", "update-schema -d",
		"/etc/temporal/schema/postgresql/v12",
		"/temporal/versioned", "/visibility/versioned",
	} {
		if !strings.Contains(script, s) {
			t.Errorf("setup-postgres.sh does not contain %q", s)
		}
	}
}

// mountedScript returns the text of the host file mounted at target.
func mountedScript(t *testing.T, s types.ServiceConfig, target string) string {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == target {
			b, err := os.ReadFile(v.Source)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatalf("%s mounts nothing at %s", s.Name, target)
	return ""
}
