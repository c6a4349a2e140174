// Command opa-compile is the part of OPA the gateway runs, built from OPA's own Go packages: `build -t wasm` (Rego to
// a WebAssembly bundle, exactly as `opa build` does it), `parse --format json` (the AST of one module) and `test`
// (a policy's *_test.rego files). It takes the same arguments as `opa` for those three commands and nothing else, so
// it links about half of OPA's packages (no server, plugins, telemetry or cloud SDKs) and a cold build from an empty
// Go build cache takes a fraction of `go install github.com/open-policy-agent/opa`. The bundle is produced by the
// same compile.Compiler with the same settings as `opa build`, so it is byte for byte what OPA produces.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
	"github.com/open-policy-agent/opa/v1/compile"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/lineage"
	"github.com/open-policy-agent/opa/v1/version"
)

const usage = `usage:
  opa-compile build -t wasm -e <package/rule> [-e ...] -o <bundle.tar.gz> <file.rego|dir>...
  opa-compile parse --format json [--json-include -comments] <file.rego>
  opa-compile test [-v] [--timeout <duration>] <file.rego|file.json|dir>...
  opa-compile version
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(1)
	}
	var code int
	switch os.Args[1] {
	case "build":
		code = build(os.Args[2:])
	case "parse":
		code = parse(os.Args[2:])
	case "test":
		code = test(os.Args[2:])
	case "version":
		fmt.Printf("Version: %s (opa-compile: build, parse and test only)\n", version.Version)
	default:
		fmt.Fprintf(os.Stderr, "opa-compile: unknown command %q\n%s", os.Args[1], usage)
		code = 1
	}
	os.Exit(code)
}

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	return fs
}

// deferredFile creates the output on the first write, so a failed build leaves no file (as `opa build` does).
type deferredFile struct {
	*os.File
	path string
}

func (w *deferredFile) Write(p []byte) (n int, err error) {
	if w.File == nil {
		if w.File, err = os.Create(w.path); err != nil {
			return 0, err
		}
	}
	return w.File.Write(p)
}

func (w *deferredFile) Close() error {
	if w.File == nil {
		return nil
	}
	return w.File.Close()
}

// build is `opa build` with its defaults (cmd/build.go dobuild at v1.22.2) and the target, entrypoints and output set.
func build(args []string) int {
	fs := flags("build")
	target := fs.String("t", compile.TargetRego, "target: rego, wasm or plan")
	output := fs.String("o", "bundle.tar.gz", "output bundle")
	var entrypoints multi
	fs.Var(&entrypoints, "e", "entrypoint (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	paths := fs.Args()
	if len(paths) == 0 {
		fmt.Fprintln(os.Stderr, "error: specify at least one path")
		return 1
	}
	out := &deferredFile{path: *output}
	compiler := compile.New().
		WithCapabilities(ast.CapabilitiesForThisVersion(ast.CapabilitiesRegoVersion(ast.DefaultRegoVersion))).
		WithTarget(*target).
		WithPlanFormat(compile.PlanFormatJSON).
		WithAsBundle(false).
		WithPruneUnused(false).
		WithOptimizationLevel(0).
		WithOutput(out).
		WithEntrypoints(entrypoints...).
		WithRegoAnnotationEntrypoints(true).
		WithPaths(paths...).
		WithFilter(func(abspath string, info os.FileInfo, _ int) bool {
			return !info.IsDir() && strings.HasSuffix(abspath, ".tar.gz")
		}).
		WithBundleLazyLoadingMode(bundle.HasExtension()).
		WithFollowSymlinks(false).
		WithRegoVersion(ast.DefaultRegoVersion).
		WithBundleVerificationKeyID("").
		WithEnablePrintStatements(*target == compile.TargetPlan)
	err := compiler.Build(context.Background())
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	return 0
}

// parse is `opa parse` (cmd/parse.go): the module's AST as JSON, comments included unless --json-include -comments.
func parse(args []string) int {
	fs := flags("parse")
	format := fs.String("format", "json", "output format (json only)")
	include := fs.String("json-include", "", "comments or -comments")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if *format != "json" {
		fmt.Fprintf(os.Stderr, "opa-compile parse: only --format json is supported, got %q\n", *format)
		return 1
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "no source file specified")
		return 1
	}
	comments := true
	for opt := range strings.SplitSeq(*include, ",") {
		if strings.HasSuffix(opt, "comments") {
			comments = !strings.HasPrefix(opt, "-")
		}
	}
	result, err := loader.RegoWithOpts(fs.Arg(0), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.DefaultRegoVersion})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if !comments {
		result.Parsed.Comments = nil
	}
	bs, err := json.MarshalIndent(result.Parsed, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_, _ = os.Stdout.Write(append(bs, '\n'))
	return 0
}

// test is `opa test` (cmd/test.go) without bundles, coverage, benchmarks or watching: load, compile, run, report.
func test(args []string) int {
	fs := flags("test")
	verbose := fs.Bool("v", false, "report every test and the notes and failures of its trace")
	timeout := fs.Duration("timeout", 5*time.Second, "time limit of each test")
	if err := fs.Parse(args); err != nil {
		return 1
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "specify at least one file")
		return 1
	}
	return runTests(fs.Args(), *verbose, *timeout, os.Stdout, os.Stderr)
}

func runTests(paths []string, verbose bool, timeout time.Duration, stdout, stderr io.Writer) int {
	ctx := context.Background()
	popts := ast.ParserOptions{RegoVersion: ast.DefaultRegoVersion, ProcessAnnotation: true}
	modules, store, err := tester.LoadWithParserOptions(paths, func(string, os.FileInfo, int) bool { return false }, popts)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	txn, err := store.NewTransaction(ctx, storage.WriteParams)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer store.Abort(ctx, txn)
	schemas, err := loader.Schemas("")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	compiler := ast.NewCompiler().
		WithPathConflictsCheck(storage.NonEmpty(ctx, store, txn)).
		WithEnablePrintStatements(true).
		WithCapabilities(ast.CapabilitiesForThisVersion()).
		WithSchemas(schemas).
		WithUseTypeCheckAnnotations(true)
	runner := tester.NewRunner().
		SetCompiler(compiler).
		SetStore(store).
		CapturePrintOutput(true).
		EnableTracing(verbose).
		StackTraces(true).
		SetModules(modules).
		SetTimeout(timeout).
		SetParallel(runtime.NumCPU())
	ch, err := runner.RunTests(ctx, txn)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	code := 0
	results := make(chan *tester.Result)
	go func() {
		defer close(results)
		for r := range ch {
			if !r.Pass() {
				code = 2
			}
			if verbose {
				r.Trace = lineage.Filter(r.Trace, func(e *topdown.Event) bool { return e.Op == topdown.NoteOp || e.Op == topdown.FailOp })
			} else {
				r.Trace = nil
			}
			results <- r
		}
	}()
	if err := (tester.PrettyReporter{Verbose: verbose, Output: stdout}).Report(results); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return code
}
