package etcdstate

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The user side: what the hypervisors (as the user) write in the user's
// subtree, and what the login-node commands read.

// UserVMPrefix holds the hypervisors' registrations of a job.
func UserVMPrefix(uid int, job uint64) string { return UserJobPrefix(uid, job) + "vm/" }

// UserVMKey holds the JSON Hypervisor of VM index vm, under a lease.
func UserVMKey(uid int, job uint64, vm int) string { return UserVMPrefix(uid, job) + strconv.Itoa(vm) }

// Hypervisor is a running VM's registration, written by its hypervisor.
type Hypervisor struct {
	Name    string `json:"name"` // vmN
	Node    string `json:"node"`
	Pid     int    `json:"pid"`
	HostKey string `json:"host_key,omitempty"` // the guest's SSH host key ("ssh-ed25519 AAAA...")
}

// RegisterTTL is the lease of a registration, in seconds: a hypervisor
// killed with SIGKILL is gone from etcd this long after.
const RegisterTTL = 15

// Register writes h under key with a lease kept alive until stop (which
// revokes it) or until ctx ends; a dead process's key expires by itself.
func (c *Client) Register(ctx context.Context, key string, h Hypervisor) (stop func(), err error) {
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	cx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	l, err := c.C.Grant(cx, RegisterTTL)
	if err != nil {
		return nil, fmt.Errorf("etcd lease: %w", err)
	}
	if _, err := c.C.Put(cx, key, string(b), clientv3.WithLease(l.ID)); err != nil {
		return nil, fmt.Errorf("etcd %s: %w", key, err)
	}
	kctx, kcancel := context.WithCancel(ctx)
	alive, err := c.C.KeepAlive(kctx, l.ID)
	if err != nil {
		kcancel()
		return nil, fmt.Errorf("etcd lease: %w", err)
	}
	go func() {
		for range alive {
		}
	}()
	return func() {
		kcancel()
		rx, rcancel := context.WithTimeout(context.Background(), Timeout)
		defer rcancel()
		c.C.Revoke(rx, l.ID)
	}, nil
}

// ClusterView is what a login node needs of a job: for each VM index, its
// reverse-NAT addresses by guest port, and its registration.
type ClusterView struct {
	RNAT map[int]map[int]string // vm → guest port → "HOSTADDR:HOSTPORT"
	VMs  map[int]Hypervisor
}

// View reads the job's reverse NAT (root-written, readable by its owner)
// and the owner's registrations.
func (c *Client) View(uid int, job uint64) (ClusterView, error) {
	v := ClusterView{RNAT: map[int]map[int]string{}, VMs: map[int]Hypervisor{}}
	rn, err := c.List(RNATPrefix(job))
	if err != nil {
		return v, err
	}
	for k, val := range rn {
		vm, port, ok := parseRNATKey(strings.TrimPrefix(k, RNATPrefix(job)))
		if !ok {
			continue
		}
		if v.RNAT[vm] == nil {
			v.RNAT[vm] = map[int]string{}
		}
		v.RNAT[vm][port] = val
	}
	regs, err := c.List(UserVMPrefix(uid, job))
	if err != nil {
		return v, err
	}
	for k, val := range regs {
		n, err := strconv.Atoi(strings.TrimPrefix(k, UserVMPrefix(uid, job)))
		var h Hypervisor
		if err != nil || json.Unmarshal([]byte(val), &h) != nil {
			continue
		}
		v.VMs[n] = h
	}
	return v, nil
}

// parseRNATKey reads "VM/PORT".
func parseRNATKey(s string) (vm, port int, ok bool) {
	a, b, found := strings.Cut(s, "/")
	vm, err1 := strconv.Atoi(a)
	port, err2 := strconv.Atoi(b)
	return vm, port, found && err1 == nil && err2 == nil
}

// UserJobs counts the registered VMs of each of the user's jobs.
func (c *Client) UserJobs(uid int) (map[uint64]int, error) {
	keys, err := c.List(UserPrefix(uid))
	if err != nil {
		return nil, err
	}
	jobs := map[uint64]int{}
	for k := range keys {
		job, rest, _ := strings.Cut(strings.TrimPrefix(k, UserPrefix(uid)), "/")
		id, err := strconv.ParseUint(job, 10, 64)
		if err == nil && strings.HasPrefix(rest, "vm/") {
			jobs[id]++
		}
	}
	return jobs, nil
}
