package vmsetup

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/etcdstate"
)

// Command is pcocc-vm's hidden argument for the plugin's root side.
const Command = "__vm-setup"

// Exit statuses of __vm-setup.
const (
	ExitFailed = 1 // the setup failed (one line on stderr)
	ExitUsage  = 2 // a bad argument or input: nothing was done
)

var (
	netName  = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]{0,31}$`)
	hostName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$`)
)

// args are __vm-setup's flags, every one validated.
type args struct {
	op                   string
	job                  uint64
	step                 uint64
	uid, gid, nodeID     int
	total                int
	nodes                []string
	tasks                []int
	ports                []int // guest ports besides the network's vm-port
	network, etcdPwdFile string
	runDir               string
}

type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// Main runs `pcocc-vm __vm-setup create|delete|cleanup FLAGS` as root.
func Main(argv []string, stdin io.Reader, stderr io.Writer) int {
	err := mainErr(argv, stdin)
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "pcocc-vm %s: %s\n", Command, strings.Join(strings.Fields(err.Error()), " "))
	if errors.As(err, &usageError{}) {
		return ExitUsage
	}
	return ExitFailed
}

func mainErr(argv []string, stdin io.Reader) error {
	if os.Geteuid() != 0 {
		return usagef("must run as root (it is run by the pcocc SPANK plugin)")
	}
	a, err := parse(argv)
	if err != nil {
		return err
	}
	switch a.op {
	case "create":
		cred, err := readCred(stdin)
		if err != nil {
			return err
		}
		return create(a, cred)
	case "delete":
		// slurmstepd ends the step's processes (SIGTERM, by pid) while
		// the plugin's exit callback waits for this one: a delete cut
		// short would leave the node's objects until the next reclaim.
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
		return deleteJob(a)
	default:
		return cleanup(a)
	}
}

func parse(argv []string) (args, error) {
	var a args
	if len(argv) < 1 || (argv[0] != "create" && argv[0] != "delete" && argv[0] != "cleanup") {
		return a, usagef("expected create, delete or cleanup")
	}
	a.op = argv[0]
	fs := flag.NewFlagSet(Command, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var nodes, tasks, ports string
	fs.Uint64Var(&a.job, "job", 0, "")
	fs.Uint64Var(&a.step, "step", 0, "")
	fs.IntVar(&a.uid, "uid", -1, "")
	fs.IntVar(&a.gid, "gid", -1, "")
	fs.IntVar(&a.nodeID, "node-id", -1, "")
	fs.IntVar(&a.total, "total", 0, "")
	fs.StringVar(&nodes, "nodes", "", "")
	fs.StringVar(&tasks, "tasks", "", "")
	fs.StringVar(&ports, "ports", "", "")
	fs.StringVar(&a.network, "network", "", "")
	fs.StringVar(&a.etcdPwdFile, "etcd-password", "", "")
	fs.StringVar(&a.runDir, "run-dir", "/run/pcocc", "")
	if err := fs.Parse(argv[1:]); err != nil {
		return a, usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return a, usagef("unexpected argument %q", fs.Arg(0))
	}
	if !filepath.IsAbs(a.runDir) || filepath.Clean(a.runDir) != a.runDir {
		return a, usagef("--run-dir %q: not a clean absolute path", a.runDir)
	}
	if a.etcdPwdFile == "" || !filepath.IsAbs(a.etcdPwdFile) {
		return a, usagef("--etcd-password: an absolute path is required")
	}
	if a.op == "cleanup" {
		return a, nil
	}
	if a.job < 1 || a.job > MaxJob {
		return a, usagef("--job %d: not in 1-%d", a.job, uint64(MaxJob))
	}
	if a.nodeID < 0 || a.nodeID > 65535 {
		return a, usagef("--node-id %d: not in 0-65535", a.nodeID)
	}
	if a.op == "delete" {
		return a, nil
	}
	if err := checkCreate(&a, nodes, tasks); err != nil {
		return a, err
	}
	var err error
	a.ports, err = ParsePorts(ports)
	return a, err
}

// MaxExtraPorts bounds the guest ports a cluster forwards besides vm-port:
// every one takes a host port per VM.
const MaxExtraPorts = 8

// ParsePorts reads a port list (--ports of __vm-setup and __slurm-launch,
// the PORTS of --vm=NET:PORTS): distinct TCP ports, comma-separated, at
// most MaxExtraPorts.
func ParsePorts(s string) ([]int, error) {
	if s == "" {
		return nil, nil
	}
	var ps []int
	for _, f := range strings.Split(s, ",") {
		p, err := strconv.Atoi(f)
		if err != nil || p < 1 || p > 65535 || f != strconv.Itoa(p) || slices.Contains(ps, p) {
			return nil, usagef("--ports: %q is not a distinct port in 1-65535", f)
		}
		ps = append(ps, p)
	}
	if len(ps) > MaxExtraPorts {
		return nil, usagef("--ports: %d ports, at most %d", len(ps), MaxExtraPorts)
	}
	return ps, nil
}

// FormatPorts writes what ParsePorts reads.
func FormatPorts(ps []int) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

func checkCreate(a *args, nodes, tasks string) error {
	switch {
	case a.step > 1<<32-1:
		return usagef("--step %d: not a 32-bit step id", a.step)
	case a.uid < 1 || a.uid > 1<<31-2:
		return usagef("--uid %d: not a user's uid (root's VMs are refused)", a.uid)
	case a.gid < 0 || a.gid > 1<<31-2:
		return usagef("--gid %d: not in range", a.gid)
	case a.total < 1 || a.total > MaxVMs:
		return usagef("--total %d: not in 1-%d", a.total, MaxVMs)
	case !netName.MatchString(a.network):
		return usagef("--network %q: not a network name", a.network)
	}
	if nodes == "" {
		var err error
		if nodes, err = stepNodes(a.job, a.step); err != nil {
			return err
		}
	}
	for _, n := range strings.Split(nodes, ",") {
		if !hostName.MatchString(n) {
			return usagef("--nodes: %q is not a host name", n)
		}
		a.nodes = append(a.nodes, n)
	}
	if a.nodeID >= len(a.nodes) {
		return usagef("--node-id %d: the job has %d nodes", a.nodeID, len(a.nodes))
	}
	seen := map[int]bool{}
	for _, s := range strings.Split(tasks, ",") {
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 || i >= a.total || seen[i] {
			return usagef("--tasks: %q is not a distinct task id in 0-%d", s, a.total-1)
		}
		seen[i] = true
		a.tasks = append(a.tasks, i)
	}
	return nil
}

// stepNodes is the step's node list as slurmctld gives it to root, in node
// id order (the plugin hands no node list: the step's environment is the
// user's).
func stepNodes(job, step uint64) (string, error) {
	out, err := exec.Command("scontrol", "show", "step", "-o", fmt.Sprintf("%d.%d", job, step)).Output()
	if err != nil {
		return "", fmt.Errorf("scontrol show step %d.%d: %v", job, step, err)
	}
	var list string
	for _, f := range strings.Fields(string(out)) {
		if v, ok := strings.CutPrefix(f, "NodeList="); ok {
			list = v
		}
	}
	if list == "" {
		return "", fmt.Errorf("scontrol show step %d.%d: no NodeList", job, step)
	}
	out, err = exec.Command("scontrol", "show", "hostnames", list).Output()
	if err != nil {
		return "", fmt.Errorf("scontrol show hostnames %s: %v", list, err)
	}
	return strings.Join(strings.Fields(string(out)), ","), nil
}

func readCred(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, 64))
	if err != nil {
		return "", err
	}
	s := strings.TrimSuffix(string(b), "\n")
	if !etcdstate.ValidCred(s) {
		return "", usagef("the etcd credential on stdin is not 32 hex digits")
	}
	return s, nil
}

// loadSystem reads networks.yaml and batch.yaml of the system directory
// only: a user's files never choose a network.
func loadSystem(name string) (config.Network, config.Batch, error) {
	dirs := config.Dirs{System: config.DefaultDirs(os.Getenv).System}
	vc := config.LoadVM(dirs, func(string) string { return "" })
	if err := vc.Err(config.KindNetworks, config.KindBatch); err != nil {
		return config.Network{}, config.Batch{}, err
	}
	var n config.Network
	if name != "" {
		var err error
		if n, err = vc.Network(name); err != nil {
			return n, config.Batch{}, usageError{err}
		}
	}
	b, _ := vc.Batch()
	if len(b.EtcdServers) == 0 {
		return n, b, fmt.Errorf("%s: batch.yaml names no etcd-servers", dirs.System)
	}
	return n, b, nil
}

func openEtcd(b config.Batch, pwdFile string) (*etcdstate.Client, error) {
	pw, err := os.ReadFile(pwdFile)
	if err != nil {
		return nil, fmt.Errorf("etcd root password: %w", err)
	}
	return etcdstate.Open(etcdstate.Endpoints(b.EtcdServers, b.EtcdPort, b.EtcdProto), "root", strings.TrimSpace(string(pw)))
}

// resolve gives each node's IPv4 address, as root's resolver says.
func resolve(names []string) ([]Node, error) {
	var out []Node
	for _, n := range names {
		addrs, err := net.LookupHost(n)
		if err != nil {
			return nil, fmt.Errorf("node %s: %w", n, err)
		}
		var a netip.Addr
		for _, s := range addrs {
			if x, err := netip.ParseAddr(s); err == nil && x.Is4() && !x.IsLoopback() {
				a = x
				break
			}
		}
		if !a.IsValid() {
			return nil, fmt.Errorf("node %s: no IPv4 address other than loopback", n)
		}
		out = append(out, Node{Name: n, Addr: a})
	}
	return out, nil
}

// underlayMTU is the MTU of the interface that holds addr.
func underlayMTU(addr netip.Addr) (int, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return 0, err
	}
	for _, i := range ifs {
		as, _ := i.Addrs()
		for _, x := range as {
			if p, err := netip.ParsePrefix(x.String()); err == nil && p.Addr() == addr {
				return i.MTU, nil
			}
		}
	}
	return 0, fmt.Errorf("address %s of this node is on none of its interfaces", addr)
}
