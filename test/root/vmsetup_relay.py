#!/usr/bin/python3
"""A "guest" for test/root/vmsetup.sh: relays Ethernet frames between a tap
in a guest netns (opened as root) and the job's tap on a "node" netns,
opened AS THE JOB'S USER (proving the user may attach, like qemu).
usage: vmsetup_relay.py GUEST_NETNS GUEST_TAP NODE_NETNS NODE_TAP UID GID"""
import ctypes, fcntl, os, select, struct, sys

TUNSETIFF, IFF_TAP, IFF_NO_PI, CLONE_NEWNET = 0x400454CA, 0x0002, 0x1000, 0x40000000
libc = ctypes.CDLL(None, use_errno=True)

def setns(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        sys.exit("setns %s: errno %d" % (name, ctypes.get_errno()))
    os.close(fd)

def tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd

gns, gtap, nns, ntap, uid, gid = sys.argv[1:7]
setns(gns)
g = tap(gtap)
setns(nns)
os.setgroups([])
os.setgid(int(gid))
os.setuid(int(uid))
try:
    n = tap(ntap)
except OSError as e:
    print("relay: uid %s cannot open tap %s: %s" % (uid, ntap, e), flush=True)
    sys.exit(3)
print("relay: attached", flush=True)
while True:
    for fd in select.select([g, n], [], [])[0]:
        os.write(n if fd == g else g, os.read(fd, 65536))
