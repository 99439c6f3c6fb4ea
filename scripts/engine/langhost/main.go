// Command pulumi-language-nodejs is kafka-lab's own, minimal Node.js language
// host for the Pulumi engine.
//
// Why it exists: Pulumi's language host lives in a separate Go module that the
// Go module proxy reachable from our machines does not serve, so it cannot be
// built like the CLI. This host implements only what `pulumi preview/up/
// destroy/refresh` need: it starts `@pulumi/pulumi/cmd/run` (from the
// project's own node_modules) with the node found on PATH, passing the engine
// and monitor addresses, project/stack/organization, dry-run, parallelism and
// the stack configuration the same way the SDK's entry point expects them.
// Everything else (`pulumi new` prompts, `pulumi install`, `about`, codegen)
// answers "unimplemented"; the engine tolerates that for the calls used here.
//
// Runtime options read from Pulumi.yaml (runtime.options): typescript (bool,
// default true), tsconfig (path), nodeargs (space separated node flags).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	pbempty "google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
)

// Exit code used by @pulumi/pulumi/cmd/run when the error was already shown to the user.
const exitAfterReportedError = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	mu            sync.Mutex
	engineAddress string
	tracing       string
}

func main() {
	h := &host{}
	// The engine passes optional flags first and the engine address last.
	for _, a := range os.Args[1:] {
		switch {
		case strings.HasPrefix(a, "-tracing=") || strings.HasPrefix(a, "--tracing="):
			h.tracing = a[strings.Index(a, "=")+1:]
		case strings.HasPrefix(a, "-"):
			// -v=N, --logtostderr, --logflow, -root=... and similar: not needed here.
		default:
			h.engineAddress = a
		}
	}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: could not start: %v\n", err)
		os.Exit(1)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	go exitWithParent()
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

// exitWithParent ends the host when the engine that started it is gone without stopping it (a killed
// `pulumi up`): an orphaned host would otherwise wait forever.
func exitWithParent() {
	parent := os.Getppid()
	for range time.Tick(2 * time.Second) {
		if os.Getppid() != parent {
			fmt.Fprintln(os.Stderr, "pulumi-language-nodejs: the engine is gone; exiting")
			os.Exit(0)
		}
	}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: strings.TrimPrefix(version.Version, "v")}, nil
}

// Plugins are resolved lazily by the engine when the program registers a
// resource, so no plugin list is announced up front.
func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	programDir := req.GetPwd()
	rootDir := programDir
	entry := "."
	var opts map[string]any
	if info != nil {
		if info.GetProgramDirectory() != "" {
			programDir = info.GetProgramDirectory()
		}
		if info.GetRootDirectory() != "" {
			rootDir = info.GetRootDirectory()
		}
		if info.GetEntryPoint() != "" {
			entry = info.GetEntryPoint()
		}
		opts = structToMap(info.GetOptions())
	} else if req.GetProgram() != "" {
		entry = req.GetProgram()
	}
	if programDir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		programDir = wd
	}

	nodeBin, err := exec.LookPath("node")
	if err != nil {
		return &pulumirpc.RunResponse{Error: "could not find `node` on PATH: " + err.Error()}, nil
	}
	runScript, err := resolveRunScript(ctx, nodeBin, programDir)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}

	var args []string
	if nodeargs, ok := opts["nodeargs"].(string); ok && strings.TrimSpace(nodeargs) != "" {
		args = append(args, strings.Fields(nodeargs)...)
	}
	args = append(args, runScript)
	h.mu.Lock()
	engine, tracing := h.engineAddress, h.tracing
	h.mu.Unlock()
	if req.GetOrganization() != "" {
		args = append(args, "--organization", req.GetOrganization())
	}
	args = append(args,
		"--monitor", req.GetMonitorAddress(),
		"--engine", engine,
		"--project", req.GetProject(),
		"--stack", req.GetStack(),
		"--root-directory", rootDir,
		"--pwd", programDir,
	)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	if req.GetParallel() > 0 {
		args = append(args, "--parallel", strconv.Itoa(int(req.GetParallel())))
	}
	if tracing != "" {
		args = append(args, "--tracing", tracing)
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	env := os.Environ()
	cfg, err := json.Marshal(orEmpty(req.GetConfig()))
	if err != nil {
		return nil, err
	}
	secretKeys := append([]string{}, req.GetConfigSecretKeys()...)
	sort.Strings(secretKeys)
	sk, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, err
	}
	env = append(env, "PULUMI_CONFIG="+string(cfg), "PULUMI_CONFIG_SECRET_KEYS="+string(sk))
	typescript := true
	if v, ok := opts["typescript"].(bool); ok {
		typescript = v
	}
	env = append(env, "PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(typescript))
	if ts, ok := opts["tsconfig"].(string); ok && ts != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+ts)
	}

	cmd := exec.CommandContext(ctx, nodeBin, args...)
	cmd.Dir = programDir
	cmd.Env = env
	cmd.Stdin = nil
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	err = cmd.Run()
	if err == nil {
		return &pulumirpc.RunResponse{}, nil
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		if status, ok := exitErr.Sys().(syscall.WaitStatus); ok && status.Exited() {
			if status.ExitStatus() == exitAfterReportedError {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", status.ExitStatus()),
			}, nil
		}
	}
	return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program failed: %v", err)}, nil
}

// resolveRunScript finds @pulumi/pulumi/cmd/run as node resolves it from the program directory.
func resolveRunScript(ctx context.Context, nodeBin, programDir string) (string, error) {
	out, err := exec.CommandContext(ctx, nodeBin, "-e",
		`process.stdout.write(require.resolve("@pulumi/pulumi/cmd/run", {paths: [process.argv[1]]}))`,
		programDir).Output()
	if err != nil || len(out) == 0 {
		return "", fmt.Errorf("could not find @pulumi/pulumi in %s (run `npm install` there): %v",
			programDir, err)
	}
	return filepath.Dir(string(out)), nil
}

func structToMap(s *structpb.Struct) map[string]any {
	if s == nil {
		return map[string]any{}
	}
	return s.AsMap()
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
