# shellcheck shell=bash
# Sourced by the VM benchmarks: tiny_setup G imports the tiny guest's disk
# ($G/disk.qcow2, scripts/vm-images.sh) as the user's image tinydisk and
# writes the template "tiny" that boots it with the guest's kernel and
# initrd into $PCOCC_CONFIG_PATH/templates.yaml. pcocc must be on PATH.
tiny_setup() {
	local g=$1
	pcocc image import -q "$g/disk.qcow2" tinydisk
	cat >"$PCOCC_CONFIG_PATH/templates.yaml" <<EOT
tiny:
  image: user:tinydisk
  kernel: $g/vmlinuz
  initrd: $g/initrd.gz
  append: console=ttyS0 quiet panic=-1
EOT
}
