// Package vmrun executes a planned cluster (internal/vm) in a job directory
// (internal/vmjob): disk overlays, one QEMU per VM, the wait for their QMP
// sockets, the report of a QEMU that ends by itself (with the last lines of
// its console), and the teardown that leaves nothing behind, including
// after a kill -9 of the process that ran the cluster (the reaper).
package vmrun
