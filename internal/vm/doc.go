// Package vm plans a cluster of virtual machines: which VMs a definition such
// as "tpl:2,other:1" asks for, what each gets (cores, memory, disk overlay,
// sockets in the job directory, MAC address) and the QEMU command line that
// starts it. It runs nothing; internal/vmrun executes the plan.
package vm
