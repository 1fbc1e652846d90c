package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// fabricWorks: the [fabric] condition. The CI says it made the fabric, and
// Slurm's two nodes really are two hosts: srun -N2 sees two hostnames and two
// addresses of the fabric (scripts/services.sh, PCOCC_CI_FABRIC_NODES).
func fabricWorks() bool {
	if os.Getenv("PCOCC_CI_FABRIC") != "1" || !slurmUp() {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "srun", "-N2", "-n2", "hostname").Output()
	if err != nil {
		return false
	}
	names := strings.Fields(string(out))
	return len(names) == 2 && names[0] != names[1] &&
		len(strings.Fields(os.Getenv("PCOCC_CI_FABRIC_NODES"))) >= 2
}

// etcdHealthy: the [etcd] condition; /health needs no credential.
func etcdHealthy() bool {
	first, _, _ := strings.Cut(os.Getenv("PCOCC_TEST_ETCD"), ",")
	if first == "" {
		return false
	}
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(strings.TrimSuffix(first, "/") + "/health")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"health":"true"`)
}
