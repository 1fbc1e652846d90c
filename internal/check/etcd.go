package check

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pcocc/pcocc/internal/config"
)

// etcdTimeout bounds each endpoint's /health request.
const etcdTimeout = 3 * time.Second

// Etcd checks, when batch.yaml says slurm, that one of its etcd servers
// answers /health (which needs no credential): VM clusters keep their state
// there. A plain HTTP GET, so that the etcd client stays out of this binary.
func Etcd(ctx context.Context, e *Env) []Result {
	const item = "etcd"
	if e.Config == nil {
		return nil
	}
	b, err := e.Config.VM().Batch()
	if err != nil || b.Type != config.BatchSlurm {
		return nil // no VM clusters on Slurm here, or batch.yaml's error is reported by Configuration
	}
	if len(b.EtcdServers) == 0 {
		return []Result{fail(item, "batch.yaml says slurm but lists no etcd-servers",
			"add etcd-servers to batch.yaml's settings (see the admin guide)")}
	}
	var errs []string
	for _, s := range b.EtcdServers {
		url := b.EtcdProto + "://" + net.JoinHostPort(s, strconv.Itoa(b.EtcdPort)) + "/health"
		if err := etcdHealth(ctx, url); err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", url, err))
			continue
		}
		return []Result{ok(item, url+" is healthy")}
	}
	return []Result{fail(item, "no etcd server answers: "+strings.Join(errs, "; "),
		"start etcd, or correct etcd-servers, etcd-client-port and etcd-protocol in batch.yaml")}
}

// etcdHealth GETs url and wants etcd's {"health":"true"}.
func etcdHealth(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, etcdTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"health":"true"`) {
		return fmt.Errorf("not healthy: %s %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}
