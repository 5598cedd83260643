#!/bin/sh
# A Debian 12 base image made here, for where no registry is reachable: a
# minimal root file system from Debian's own packages (debootstrap), made an
# image with `docker import`.  It stands in for debian:bookworm-slim as the
# BASE of docker/Dockerfile (build-image.sh uses it when Docker Hub does not
# answer) and of the test suite's systemd image.  Does nothing when the
# image exists; `docker rmi TAG` makes the next run fetch Debian afresh.
# Usage: debian-base.sh TAG   (DEBIAN_MIRROR overrides the mirror; behind a
# proxy, debootstrap's wget follows http_proxy)
set -eu
me=debian-base.sh
tag=${1:?usage: debian-base.sh TAG}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

docker image inspect "$tag" >/dev/null 2>&1 && exit 0
# debootstrap chroots and makes device nodes: it fails late and obscurely
# without root, so say so before it starts.
if [ "$(id -u)" != 0 ]; then
	echo "$me: making the Debian base $tag with debootstrap needs root;" \
	    "run as root, or build on an image Docker has (build-image.sh -b)" >&2
	exit 1
fi
PATH=$PATH:/usr/sbin:/sbin
if ! command -v debootstrap >/dev/null 2>&1; then
	echo "$me: debootstrap is not installed; install the package" \
	    "debootstrap (apt-get install debootstrap, dnf install debootstrap)" >&2
	exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root" "$root.log"' EXIT
echo "$me: making $tag with debootstrap from $mirror (a few minutes)" >&2
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" \
    >"$root.log" 2>&1; then
	tail -20 "$root.log" >&2
	exit 1
fi
# What a docker image of Debian leaves out: the package lists (apt-get
# update fetches them) and the cache of downloaded packages.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
tar -C "$root" -c . | docker import -c 'CMD ["bash"]' - "$tag" >/dev/null
echo "$me: built $tag" >&2
