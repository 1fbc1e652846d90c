# shellcheck shell=bash
# Sourced by scripts/vm-images.sh (which says what the guests are) after
# debian-build.sh: builds the Docker guest, build_docker DEST, the Debian
# guest (its packages and debian-setup: part of this guest's cache key too)
# plus the Docker engine and AppArmor (the cloud kernel enables AppArmor:
# without its userspace every `docker run` and RUN step fails), set up by
# docker-setup.

DOCKER_PACKAGES=$DEBIAN_PACKAGES,docker.io,apparmor,containerd,runc,tini,iptables,pigz,xz-utils

build_docker() { build_debootstrap "$1" docker "$DOCKER_PACKAGES" 4G docker_check docker-setup debian-setup; }

# docker_check DIR: the engine answers `docker info` over ssh, with
# overlay2, AppArmor, and its data on tmpfs (the VM has no data disk).
docker_check() {
	debian_check "$1" 'docker info --format "{{.Driver}} {{.DockerRootDir}} {{.SecurityOptions}}" && findmnt -no FSTYPE /var/lib/docker' \
		'*overlay2*/var/lib/docker*apparmor*tmpfs*'
}
