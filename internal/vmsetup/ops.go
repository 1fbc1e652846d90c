package vmsetup

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/pcocc/pcocc/internal/config"
	"github.com/pcocc/pcocc/internal/etcdstate"
	"github.com/pcocc/pcocc/internal/vmnet"
)

// Default reverse-NAT host ports when networks.yaml gives no range.
const (
	DefaultMinPort = 61000
	DefaultMaxPort = 61999
)

func trackerDir(a args) string { return filepath.Join(a.runDir, "tracker") }

// EnvDir holds a step's task-N.env files (N: the global task id = VM index).
func EnvDir(runDir string, job, step uint64) string {
	return filepath.Join(runDir, "vm", fmt.Sprintf("%d.%d", job, step))
}

func create(a args, cred string) error {
	n, b, err := loadSystem(a.network)
	if err != nil {
		return err
	}
	nodes, err := resolve(a.nodes)
	if err != nil {
		return err
	}
	mtu, err := underlayMTU(nodes[a.nodeID].Addr)
	if err != nil {
		return err
	}
	if mtu -= 50; n.MTU != 0 && n.MTU < mtu {
		mtu = n.MTU
	}
	ec, done, err := session(a, b)
	if err != nil {
		return err
	}
	defer done()
	ts, err := reclaim(trackerDir(a), ec)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.Job == a.job && t.NodeID == a.nodeID {
			return fmt.Errorf("job %d is already set up on this node (one VM step per job)", a.job)
		}
	}
	if err := ec.EnsureUser(a.uid, cred); err != nil {
		return err
	}
	if err := ec.GrantJob(a.uid, a.job); err != nil {
		return err
	}
	spec := vmnet.SpecOf(n)
	vni, err := ec.AllocVNI(a.job, etcdstate.DefaultVNIMin, etcdstate.DefaultVNIMax)
	if err != nil {
		return err
	}
	t, err := NewTracker(trackerDir(a), a.job, a.uid, a.nodeID, os.Getppid())
	if err != nil {
		return err
	}
	r := Request{Job: a.job, UID: a.uid, GID: a.gid, NodeID: a.nodeID, Nodes: nodes, LocalVMs: a.tasks,
		TotalVMs: a.total, Network: a.network, Net: spec, MTU: mtu, VNI: vni, RunDir: trackerDir(a), Extra: a.ports,
		Ports: map[int]map[int]int{}, DNS: Resolvers(readFile("/etc/resolv.conf"))}
	if err := build(a, r, t, ts, ec); err != nil {
		ec.Put(etcdstate.NodeKey(a.job, a.nodeID), nodeJSON(nodes[a.nodeID], etcdstate.StateFailed, err.Error()))
		t.UndoAll()
		return err
	}
	return nil
}

func build(a args, r Request, t *Tracker, ts []*Tracker, ec *etcdstate.Client) error {
	var err error
	if r.Slot, err = FreeSlot(ts); err != nil {
		return err
	}
	lo, hi := r.Net.MinHostPort, r.Net.MaxHostPort
	if lo == 0 {
		lo, hi = DefaultMinPort, DefaultMaxPort
	}
	gs := guestPorts(r)
	ports, err := FreePorts(ts, len(a.tasks)*len(gs), lo, hi)
	if err != nil {
		return err
	}
	for k, i := range a.tasks {
		r.Ports[i] = map[int]int{}
		for l, g := range gs {
			r.Ports[i][g] = ports[k*len(gs)+l]
		}
	}
	t.Slot, t.Ports, t.VMs = r.Slot, ports, a.tasks
	t.Files = []string{EnvDir(a.runDir, a.job, a.step)}
	if err := t.Save(); err != nil {
		return err
	}
	p, err := NewPlan(r)
	if err != nil {
		return err
	}
	if err := Execute(p, t); err != nil {
		return err
	}
	if err := writeEnv(EnvDir(a.runDir, a.job, a.step), p.VMs); err != nil {
		return err
	}
	return publish(ec, r, p)
}

// writeEnv writes one task-N.env per local VM: root-owned, readable (the
// plugin reads it as root, the values are no secret).
func writeEnv(dir string, vms []VMEnv) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, v := range vms {
		s := fmt.Sprintf("PCOCC_VM_INDEX=%d\nPCOCC_VM_TAP=%s\nPCOCC_VM_MAC=%s\nPCOCC_VM_ADDR=%s\nPCOCC_VM_MTU=%d\nPCOCC_VM_NETWORK=%s\n",
			v.Index, v.Tap, v.MAC, v.Addr, v.MTU, v.Network)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("task-%d.env", v.Index)), []byte(s), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func nodeJSON(n Node, state, desc string) string {
	b, _ := json.Marshal(etcdstate.NodeState{Name: n.Name, Addr: n.Addr.String(), State: state, Desc: desc})
	return string(b)
}

// publish writes the node's VMs, their reverse-NAT address and the node's
// state (complete, last: readers wait for it).
func publish(ec *etcdstate.Client, r Request, p Plan) error {
	me := r.Nodes[r.NodeID]
	for _, v := range p.VMs {
		b, _ := json.Marshal(etcdstate.VMState{Name: v.Name, Node: me.Name, Addr: v.Addr.String(), MAC: v.MAC, Tap: v.Tap})
		if err := ec.Put(etcdstate.VMKey(r.Job, v.Index), string(b)); err != nil {
			return err
		}
		for g, h := range v.HostPorts {
			hp := me.Addr.String() + ":" + strconv.Itoa(h)
			if err := ec.Put(etcdstate.RNATKey(r.Job, v.Index, g), hp); err != nil {
				return err
			}
		}
	}
	return ec.Put(etcdstate.NodeKey(r.Job, r.NodeID), nodeJSON(me, etcdstate.StateComplete, ""))
}

// session takes the node lock and connects to etcd as root; done undoes both.
func session(a args, b config.Batch) (ec *etcdstate.Client, done func(), err error) {
	if err := os.MkdirAll(a.runDir, 0o755); err != nil {
		return nil, nil, err
	}
	unlock, err := Lock(filepath.Join(a.runDir, "setup.lock"))
	if err != nil {
		return nil, nil, err
	}
	if ec, err = openEtcd(b, a.etcdPwdFile); err != nil {
		unlock()
		return nil, nil, err
	}
	return ec, func() { ec.Close(); unlock() }, nil
}

// batchSession is a session for delete and cleanup, which need only batch.yaml.
func batchSession(a args) (*etcdstate.Client, func(), error) {
	_, b, err := loadSystem(config0)
	if err != nil {
		return nil, nil, err
	}
	return session(a, b)
}

func deleteJob(a args) error {
	ec, done, err := batchSession(a)
	if err != nil {
		return err
	}
	defer done()
	ts, err := LoadTrackers(trackerDir(a))
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.Job == a.job && t.NodeID == a.nodeID {
			return release(ec, t)
		}
	}
	return forget(ec, a.job, a.nodeID, nil)
}

// config0 names no network: delete and cleanup need only batch.yaml.
const config0 = ""

// release undoes a tracker and removes its node's keys.
func release(ec *etcdstate.Client, t *Tracker) error {
	errU := t.UndoAll()
	errE := forget(ec, t.Job, t.NodeID, t.VMs)
	return errors.Join(errU, errE)
}

// forget removes a node's keys of a job, and the whole job's when no
// node of it is left.
func forget(ec *etcdstate.Client, job uint64, nodeID int, vms []int) error {
	for _, v := range vms {
		if err := ec.Delete(etcdstate.VMKey(job, v), false); err != nil {
			return err
		}
		if err := ec.Delete(etcdstate.RNATPrefix(job)+strconv.Itoa(v)+"/", true); err != nil {
			return err
		}
	}
	if err := ec.Delete(etcdstate.NodeKey(job, nodeID), false); err != nil {
		return err
	}
	left, err := ec.List(etcdstate.NodePrefix(job))
	if err != nil || len(left) > 0 {
		return err
	}
	return ec.DeleteJob(job)
}

// reclaim releases the trackers whose creator (slurmstepd) is gone, and
// returns the others.
func reclaim(dir string, ec *etcdstate.Client) ([]*Tracker, error) {
	ts, err := LoadTrackers(dir)
	if err != nil {
		return nil, err
	}
	var live []*Tracker
	var errs []string
	for _, t := range ts {
		if t.Alive() || !t.Mine() {
			live = append(live, t)
			continue
		}
		if err := release(ec, t); err != nil {
			errs = append(errs, fmt.Sprintf("job %d: %v", t.Job, err))
		}
	}
	if len(errs) > 0 {
		return live, fmt.Errorf("reclaiming dead jobs: %s", strings.Join(errs, "; "))
	}
	return live, nil
}

func cleanup(a args) error {
	ec, done, err := batchSession(a)
	if err != nil {
		return err
	}
	defer done()
	_, err = reclaim(trackerDir(a), ec)
	return err
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

// Resolvers are resolv.conf's IPv4 nameservers that the cluster's router
// namespace can reach (at most 3, as the resolver reads): loopback ones (a
// local stub resolver) are the host's own and are left out, as is anything
// that is not an address.
func Resolvers(resolvConf string) []netip.Addr {
	var out []netip.Addr
	for _, line := range strings.Split(resolvConf, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "nameserver" {
			continue
		}
		a, err := netip.ParseAddr(f[1])
		if err == nil && a.Is4() && !a.IsLoopback() && !a.IsUnspecified() && len(out) < 3 {
			out = append(out, a)
		}
	}
	return out
}
