// Package etcdstate holds the etcd key layout of pcocc's VM clusters under
// Slurm and the client wrapper that reads and writes it. It is linked only
// into pcocc-vm: the etcd client costs 10-14 ms of package init per exec.
package etcdstate

import (
	"fmt"
	"regexp"
	"strconv"
)

// Root is the prefix of every pcocc key.
const Root = "/pcocc/"

// Default VNI range when networks.yaml names none.
const (
	DefaultVNIMin = 1024
	DefaultVNIMax = 65535
)

var credRe = regexp.MustCompile(`^[0-9a-f]{32}$`)

// ValidCred says whether s is a user credential: 32 lowercase hex digits.
func ValidCred(s string) bool { return credRe.MatchString(s) }

// UserName is the etcd user of a Unix uid.
func UserName(uid int) string { return "pcocc-u" + strconv.Itoa(uid) }

// RoleName is the etcd role of a Unix uid (same name as its user).
func RoleName(uid int) string { return UserName(uid) }

// UserPrefix is the subtree a user reads and writes.
func UserPrefix(uid int) string { return fmt.Sprintf("%suser/%d/", Root, uid) }

// UserJobPrefix is a user's subtree for one job.
func UserJobPrefix(uid int, job uint64) string { return fmt.Sprintf("%s%d/", UserPrefix(uid), job) }

// ClusterPrefix is the root-written subtree of one job, readable by its owner.
func ClusterPrefix(job uint64) string { return fmt.Sprintf("%scluster/%d/", Root, job) }

// OwnerKey holds the uid owning the job.
func OwnerKey(job uint64) string { return ClusterPrefix(job) + "owner" }

// NodePrefix holds one key per node of the job.
func NodePrefix(job uint64) string { return ClusterPrefix(job) + "node/" }

// NodeKey holds the JSON NodeState of node id of the job.
func NodeKey(job uint64, node int) string { return NodePrefix(job) + strconv.Itoa(node) }

// VMPrefix holds one key per VM of the job.
func VMPrefix(job uint64) string { return ClusterPrefix(job) + "vm/" }

// VMKey holds the JSON VMState of VM index vm.
func VMKey(job uint64, vm int) string { return VMPrefix(job) + strconv.Itoa(vm) }

// RNATPrefix holds the reverse-NAT ports of every VM of the job.
func RNATPrefix(job uint64) string { return ClusterPrefix(job) + "rnat/" }

// RNATKey holds "HOSTADDR:HOSTPORT" for guest port port of VM vm.
func RNATKey(job uint64, vm, port int) string {
	return fmt.Sprintf("%s%d/%d", RNATPrefix(job), vm, port)
}

// VNIPrefix holds the allocated VXLAN ids.
const VNIPrefix = Root + "global/vni/"

// VNIKey holds the job that owns vni.
func VNIKey(vni int) string { return VNIPrefix + strconv.Itoa(vni) }

// NodeState is the value of NodeKey.
type NodeState struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"`
	State string `json:"state"` // StateComplete or StateFailed
	Desc  string `json:"desc,omitempty"`
}

// Node states.
const (
	StateComplete = "complete"
	StateFailed   = "failed"
)

// VMState is the value of VMKey.
type VMState struct {
	Name string `json:"name"` // vmN
	Node string `json:"node"`
	Addr string `json:"addr"` // private address
	MAC  string `json:"mac"`
	Tap  string `json:"tap"`
}
