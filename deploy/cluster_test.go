package deploy_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/zentrix/webhooks/internal/cluster"
)

// serverConfig is what matters of a rendered cluster.yaml.tmpl.
type serverConfig struct {
	Persistence struct {
		DefaultStore     string `yaml:"defaultStore"`
		VisibilityStore  string `yaml:"visibilityStore"`
		NumHistoryShards int    `yaml:"numHistoryShards"`
		Datastores       map[string]struct {
			SQL struct {
				PluginName   string `yaml:"pluginName"`
				DatabaseName string `yaml:"databaseName"`
			} `yaml:"sql"`
		} `yaml:"datastores"`
	} `yaml:"persistence"`
	DynamicConfigClient struct {
		Filepath string `yaml:"filepath"`
	} `yaml:"dynamicConfigClient"`
}

// make cluster (internal/cluster and deploy/temporal/cluster.yaml.tmpl) and
// the temporal service of docker-compose.yml must agree on what makes the
// two the same system: the persistence plugin and databases, the number of
// history shards, the dynamic configuration file, the namespace and its
// retention. (The search attributes of both come from temporal.SearchAttributes:
// TestNamespaceJobRegistersTheSearchAttributes checks the compose side.)
func TestClusterTemplateAgreesWithCompose(t *testing.T) {
	p := loadProject(t, true)
	server := env(service(t, p, "temporal"))
	nsJob := env(service(t, p, "temporal-create-namespace"))
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range cluster.Services {
		raw, err := cluster.Config{Root: abs, PostgresURL: "postgres://temporal@127.0.0.1:5432/postgres"}.ServiceConfig(name)
		if err != nil {
			t.Fatalf("render %s: %v", name, err)
		}
		var cfg serverConfig
		if err := yaml.Unmarshal(raw, &cfg); err != nil {
			t.Fatalf("%s configuration is not YAML: %v\n%s", name, err, raw)
		}
		ps := cfg.Persistence
		if got, want := strconv.Itoa(ps.NumHistoryShards), server["NUM_HISTORY_SHARDS"]; got != want {
			t.Errorf("%s: %s history shards, compose %s", name, got, want)
		}
		for store, want := range map[string]string{ps.DefaultStore: server["DBNAME"], ps.VisibilityStore: server["VISIBILITY_DBNAME"]} {
			sql := ps.Datastores[store].SQL
			if sql.PluginName != server["DB"] {
				t.Errorf("%s: store %q on plugin %q, compose DB=%q", name, store, sql.PluginName, server["DB"])
			}
			if sql.DatabaseName != want {
				t.Errorf("%s: store %q in database %q, compose %q", name, store, sql.DatabaseName, want)
			}
		}
		if got, want := cfg.DynamicConfigClient.Filepath, filepath.Join(abs, cluster.DynamicConfig); got != want {
			t.Errorf("%s: dynamic config %s, want %s", name, got, want)
		}
	}

	// The compose file mounts the same dynamic configuration file.
	var mounted bool
	for _, v := range service(t, p, "temporal").Volumes {
		if filepath.Join(v.Target, filepath.Base(server["DYNAMIC_CONFIG_FILE_PATH"])) == filepath.Join("/etc/temporal", server["DYNAMIC_CONFIG_FILE_PATH"]) &&
			v.Source == filepath.Join(abs, filepath.Dir(cluster.DynamicConfig)) {
			mounted = true
		}
	}
	if !mounted || filepath.Base(server["DYNAMIC_CONFIG_FILE_PATH"]) != filepath.Base(cluster.DynamicConfig) {
		t.Errorf("compose's DYNAMIC_CONFIG_FILE_PATH %q is not %s mounted from the repository", server["DYNAMIC_CONFIG_FILE_PATH"], cluster.DynamicConfig)
	}

	if got := nsJob["DEFAULT_NAMESPACE"]; got != "default" {
		t.Errorf("compose creates namespace %q, make cluster %q", got, "default")
	}
	days, ok := strings.CutSuffix(nsJob["NAMESPACE_RETENTION"], "d")
	n, err := strconv.Atoi(days)
	if !ok || err != nil || time.Duration(n)*24*time.Hour != cluster.DefaultRetention {
		t.Errorf("compose retention %q, make cluster %s", nsJob["NAMESPACE_RETENTION"], cluster.DefaultRetention)
	}
}
