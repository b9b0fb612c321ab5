// compose-check loads a Compose file with the Compose Specification's reference loader
// (compose-go, the library `docker compose` itself uses): schema validation, variable
// interpolation, merging of `<<` anchors, and the project's consistency checks (unknown
// services in depends_on, undeclared volumes and networks, ...). It stands in for
// `docker compose config` where the Compose plugin is not installed.
//
//	compose-check [--env KEY=VALUE]... [--profile NAME]... [--json] FILE
//
// Variables are interpolated from the process environment, a .env file beside FILE, and
// --env (which wins). Services of a profile are included only when it is named (or listed in
// COMPOSE_PROFILES), as with `docker compose --profile`. Exit status 0 when the file is valid; 1 with the loader's error on
// stderr otherwise; 2 for bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type listFlag struct {
	values []string
	check  func(string) error
}

func (l *listFlag) String() string { return strings.Join(l.values, ",") }

func (l *listFlag) Set(value string) error {
	if l.check != nil {
		if err := l.check(value); err != nil {
			return err
		}
	}
	l.values = append(l.values, value)
	return nil
}

func keyValue(value string) error {
	if !strings.Contains(value, "=") {
		return fmt.Errorf("expected KEY=VALUE, got %q", value)
	}
	return nil
}

func main() {
	extraEnv := listFlag{check: keyValue}
	profiles := listFlag{}
	flag.Var(&extraEnv, "env", "KEY=VALUE to interpolate (repeatable; overrides the environment)")
	flag.Var(&profiles, "profile", "enable the services of this profile (repeatable)")
	asJSON := flag.Bool("json", false, "print the resolved project as JSON on stdout, like `docker compose config --format json`")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: compose-check [--env KEY=VALUE]... [--profile NAME]... [--json] FILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	file, err := filepath.Abs(flag.Arg(0))
	if err != nil {
		fail(err)
	}

	options, err := cli.NewProjectOptions(
		[]string{file},
		cli.WithWorkingDirectory(filepath.Dir(file)),
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithEnv(extraEnv.values),
		cli.WithDefaultProfiles(profiles.values...),
		cli.WithInterpolation(true),
		cli.WithNormalization(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}

	names := project.ServiceNames()
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "compose-check: %s is valid: project %s, %d services: %s\n",
		flag.Arg(0), project.Name, len(names), strings.Join(names, ", "))
	if *asJSON {
		out, err := project.MarshalJSON()
		if err != nil {
			fail(err)
		}
		fmt.Println(string(out))
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "compose-check: %v\n", err)
	os.Exit(1)
}
