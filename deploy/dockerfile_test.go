package deploy_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
}

func readDockerfile(t *testing.T) []instruction {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

func TestDockerfile(t *testing.T) {
	ins := readDockerfile(t)
	args := map[string]string{}
	var froms []int
	for i, in := range ins {
		switch in.cmd {
		case "ARG":
			if k, v, ok := strings.Cut(in.args, "="); ok {
				args[k] = v
			}
		case "FROM":
			froms = append(froms, i)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, found %d FROM", len(froms))
	}
	expand := func(s string) string {
		return regexp.MustCompile(`\$\{(\w+)\}`).ReplaceAllStringFunc(s, func(m string) string {
			return args[m[2:len(m)-1]]
		})
	}

	// The builder's Go matches go.mod's go directive.
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(gomod)
	builder := expand(ins[froms[0]].args)
	if goVersion == nil || !strings.HasPrefix(builder, "golang:"+string(goVersion[1])) {
		t.Errorf("builder %q, want golang:%s (go.mod)", builder, goVersion[1])
	}

	// Modules are downloaded in their own layer, before the sources are copied.
	text := func(from, to int) string {
		var b strings.Builder
		for _, in := range ins[from:to] {
			b.WriteString(in.cmd + " " + in.args + "\n")
		}
		return b.String()
	}
	build := text(froms[0], froms[len(froms)-1])
	download, sources := strings.Index(build, "COPY go.mod go.sum"), strings.Index(build, "COPY . .")
	if download < 0 || sources < 0 || download > sources || !strings.Contains(build[download:sources], "go mod download") {
		t.Error("want COPY go.mod go.sum and go mod download before COPY . .")
	}
	for _, s := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/receiver", "./cmd/worker", "./deploy/healthcheck"} {
		if !strings.Contains(build, s) {
			t.Errorf("build stage lacks %q", s)
		}
	}

	// The runtime stage holds the binaries the compose file runs, as a non-root user.
	runtime := ins[froms[len(froms)-1]:]
	base := expand(runtime[0].args)
	user := ""
	for _, in := range runtime {
		if in.cmd == "USER" {
			user = in.args
		}
	}
	nonroot := strings.HasSuffix(base, ":nonroot") && user == ""
	if user != "" {
		name, _, _ := strings.Cut(user, ":")
		nonroot = name != "root" && name != "0"
	}
	if !nonroot {
		t.Errorf("runtime %q runs as %q: want a non-root user", base, user)
	}
	rt := text(froms[len(froms)-1], len(ins))
	for _, bin := range []string{"/receiver", "/worker", "/healthcheck"} {
		if !strings.Contains(rt, bin) {
			t.Errorf("runtime stage lacks %s", bin)
		}
	}
	if !regexp.MustCompile(`(?m)^EXPOSE .*\b8080\b`).MatchString(rt) || !regexp.MustCompile(`(?m)^EXPOSE .*\b9090\b`).MatchString(rt) {
		t.Error("runtime stage should EXPOSE 8080 and 9090")
	}
}

func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		lines[strings.TrimSpace(l)] = true
	}
	for _, want := range []string{".git", ".env", "bin/", ".data/", "*.test"} {
		if !lines[want] {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}
