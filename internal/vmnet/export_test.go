package vmnet

// For the tests of package vmnet_test.

func SlirpPID(n *Network) int  { return n.slirp.Process.Pid }
func NetDir(n *Network) string { return n.dir }
func SetTunDevice(p string) (restore func()) {
	old := tunDevice
	tunDevice = p
	return func() { tunDevice = old }
}
