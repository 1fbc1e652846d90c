package etcdstate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Timeout bounds every call of the wrapper: a dead etcd gives one line, not a hang.
const Timeout = 10 * time.Second

// Client is a connection to etcd as one user (root on the privileged side,
// pcocc-u<UID> on the user side).
type Client struct {
	C *clientv3.Client
}

// Endpoints builds the client URLs of batch.yaml's etcd-servers,
// etcd-client-port and etcd-protocol.
func Endpoints(servers []string, port int, proto string) []string {
	var eps []string
	for _, s := range servers {
		eps = append(eps, proto+"://"+net.JoinHostPort(s, strconv.Itoa(port)))
	}
	return eps
}

// Open connects to endpoints as user (empty: no authentication).
func Open(endpoints []string, user, password string) (*Client, error) {
	c, err := clientv3.New(clientv3.Config{
		Endpoints: endpoints, Username: user, Password: password,
		DialTimeout: Timeout, Logger: nopLogger(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcd %v: %w", endpoints, err)
	}
	return &Client{C: c}, nil
}

// Close ends the connection.
func (c *Client) Close() error { return c.C.Close() }

func ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), Timeout)
}

// EnsureUser creates user pcocc-u<uid> with password cred, or sets its
// password (the credential the job brings is the one that counts), and its
// role with readwrite on the user's subtree. Root only.
func (c *Client) EnsureUser(uid int, cred string) error {
	if !ValidCred(cred) {
		return errors.New("etcd credential: not 32 hex digits")
	}
	cx, cancel := ctx()
	defer cancel()
	name := UserName(uid)
	if _, err := c.C.UserAdd(cx, name, cred); errors.Is(err, rpctypes.ErrUserAlreadyExist) {
		if err := c.setPassword(cx, name, cred); err != nil {
			return fmt.Errorf("etcd user %s: %w", name, err)
		}
	} else if err != nil {
		return fmt.Errorf("etcd user %s: %w", name, err)
	}
	if _, err := c.C.RoleAdd(cx, RoleName(uid)); err != nil && !errors.Is(err, rpctypes.ErrRoleAlreadyExist) {
		return fmt.Errorf("etcd role %s: %w", RoleName(uid), err)
	}
	p := UserPrefix(uid)
	if _, err := c.C.RoleGrantPermission(cx, RoleName(uid), p, clientv3.GetPrefixRangeEnd(p), clientv3.PermissionType(clientv3.PermReadWrite)); err != nil {
		return fmt.Errorf("etcd role %s: %w", RoleName(uid), err)
	}
	if _, err := c.C.UserGrantRole(cx, name, RoleName(uid)); err != nil {
		return fmt.Errorf("etcd user %s: %w", name, err)
	}
	return nil
}

// setPassword changes name's password to cred unless it is cred already.
// Every node of a job sets it, with the same credential (the user's
// ~/.pcocc/etcd-password): a change, even to the same password, ends the
// user's tokens, and etcd 3.4 (Debian's) then refuses the re-authentication
// of a client that holds one, since it checks the token an Authenticate
// carries. A hypervisor of the job that had authenticated on another node
// then failed every write until its deadline (seen in CI, one run in a few).
func (c *Client) setPassword(cx context.Context, name, cred string) error {
	_, err := c.C.Authenticate(cx, name, cred)
	if err == nil {
		return nil
	}
	if !errors.Is(err, rpctypes.ErrAuthFailed) {
		return err
	}
	_, err = c.C.UserChangePassword(cx, name, cred)
	return err
}

// GrantJob lets uid read the job's cluster subtree and records it as owner.
func (c *Client) GrantJob(uid int, job uint64) error {
	cx, cancel := ctx()
	defer cancel()
	p := ClusterPrefix(job)
	if _, err := c.C.RoleGrantPermission(cx, RoleName(uid), p, clientv3.GetPrefixRangeEnd(p), clientv3.PermissionType(clientv3.PermRead)); err != nil {
		return fmt.Errorf("etcd role %s: %w", RoleName(uid), err)
	}
	if _, err := c.C.Put(cx, OwnerKey(job), strconv.Itoa(uid)); err != nil {
		return fmt.Errorf("etcd %s: %w", OwnerKey(job), err)
	}
	return nil
}

// RevokeJob takes back uid's read of the job's subtree (absent: done).
func (c *Client) RevokeJob(uid int, job uint64) error {
	cx, cancel := ctx()
	defer cancel()
	p := ClusterPrefix(job)
	_, err := c.C.RoleRevokePermission(cx, RoleName(uid), p, clientv3.GetPrefixRangeEnd(p))
	if err != nil && !errors.Is(err, rpctypes.ErrPermissionNotGranted) && !errors.Is(err, rpctypes.ErrRoleNotFound) {
		return fmt.Errorf("etcd role %s: %w", RoleName(uid), err)
	}
	return nil
}

// JobVNIKey records the VNI of a job (so that every node of the job gets the same).
func JobVNIKey(job uint64) string { return ClusterPrefix(job) + "vni" }

// AllocVNI returns the job's VXLAN id: the one already allocated by another
// node of the job, or a free one of [lo, hi] taken by a transaction that
// creates both keys only if neither exists (two nodes racing agree).
func (c *Client) AllocVNI(job uint64, lo, hi int) (int, error) {
	if lo < 1 || hi > 1<<24-1 || lo > hi {
		return 0, fmt.Errorf("VNI range %d-%d: outside 1-16777215", lo, hi)
	}
	span := hi - lo + 1
	start := int(job % uint64(span))
	for i := 0; i < span; i++ {
		vni := lo + (start+i)%span
		got, err := c.tryVNI(job, vni)
		if err != nil || got != 0 {
			return got, err
		}
	}
	return 0, fmt.Errorf("no free VNI in %d-%d", lo, hi)
}

// tryVNI returns the job's VNI, or 0 when vni is taken by another job.
func (c *Client) tryVNI(job uint64, vni int) (int, error) {
	cx, cancel := ctx()
	defer cancel()
	jk, vk, j := JobVNIKey(job), VNIKey(vni), strconv.FormatUint(job, 10)
	r, err := c.C.Txn(cx).If(
		clientv3.Compare(clientv3.CreateRevision(jk), "=", 0),
		clientv3.Compare(clientv3.CreateRevision(vk), "=", 0),
	).Then(clientv3.OpPut(jk, strconv.Itoa(vni)), clientv3.OpPut(vk, j)).
		Else(clientv3.OpGet(jk)).Commit()
	if err != nil {
		return 0, fmt.Errorf("etcd VNI: %w", err)
	}
	if r.Succeeded {
		return vni, nil
	}
	kvs := r.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 0 {
		return 0, nil // vni taken, the job has none yet: try the next
	}
	n, err := strconv.Atoi(string(kvs[0].Value))
	if err != nil {
		return 0, fmt.Errorf("etcd %s: %q is not a VNI", jk, kvs[0].Value)
	}
	return n, nil
}

// DeleteJob removes every key of the job: its VNI (if still the job's), its
// cluster subtree, the owner's subtree for the job, and the owner's read
// grant. Safe to call twice, from any node, and for a job never created.
func (c *Client) DeleteJob(job uint64) error {
	cx, cancel := ctx()
	defer cancel()
	j := strconv.FormatUint(job, 10)
	r, err := c.C.Get(cx, ClusterPrefix(job), clientv3.WithPrefix())
	if err != nil {
		return fmt.Errorf("etcd %s: %w", ClusterPrefix(job), err)
	}
	uid := -1
	for _, kv := range r.Kvs {
		switch string(kv.Key) {
		case JobVNIKey(job):
			vk := VNIPrefix + string(kv.Value)
			if _, err := c.C.Txn(cx).If(clientv3.Compare(clientv3.Value(vk), "=", j)).Then(clientv3.OpDelete(vk)).Commit(); err != nil {
				return fmt.Errorf("etcd %s: %w", vk, err)
			}
		case OwnerKey(job):
			if n, err := strconv.Atoi(string(kv.Value)); err == nil && n >= 0 {
				uid = n
			}
		}
	}
	if uid >= 0 {
		if _, err := c.C.Delete(cx, UserJobPrefix(uid, job), clientv3.WithPrefix()); err != nil {
			return fmt.Errorf("etcd %s: %w", UserJobPrefix(uid, job), err)
		}
		if err := c.RevokeJob(uid, job); err != nil {
			return err
		}
	}
	if _, err := c.C.Delete(cx, ClusterPrefix(job), clientv3.WithPrefix()); err != nil {
		return fmt.Errorf("etcd %s: %w", ClusterPrefix(job), err)
	}
	return nil
}

// Put writes one key.
func (c *Client) Put(key, value string) error {
	cx, cancel := ctx()
	defer cancel()
	if _, err := c.C.Put(cx, key, value); err != nil {
		return fmt.Errorf("etcd %s: %w", key, err)
	}
	return nil
}

// Delete removes one key, or every key under it when prefix.
func (c *Client) Delete(key string, prefix bool) error {
	cx, cancel := ctx()
	defer cancel()
	var opts []clientv3.OpOption
	if prefix {
		opts = append(opts, clientv3.WithPrefix())
	}
	if _, err := c.C.Delete(cx, key, opts...); err != nil {
		return fmt.Errorf("etcd %s: %w", key, err)
	}
	return nil
}

// List returns the keys and values under prefix.
func (c *Client) List(prefix string) (map[string]string, error) {
	cx, cancel := ctx()
	defer cancel()
	r, err := c.C.Get(cx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("etcd %s: %w", prefix, err)
	}
	m := make(map[string]string, len(r.Kvs))
	for _, kv := range r.Kvs {
		m[string(kv.Key)] = string(kv.Value)
	}
	return m, nil
}
