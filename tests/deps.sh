#!/bin/sh
# Install from Debian's packages what building (`build`) or running the
# tests (`test`) needs.  Only what is missing is installed, so a machine that
# has everything does no network work at all.
set -eu

build="meson ninja-build pkg-config gcc libc6-dev libevent-dev
	libmicrohttpd-dev libcjson-dev libsystemd-dev libcurl4-openssl-dev
	libinih-dev libssl-dev"
test="$build clang libclang-rt-14-dev python3 util-linux systemd
	iproute2 git tmux mandoc docker.io procps debootstrap openssh-server
	openssl strace chromium"

case "${1:-}" in
build)	want=$build ;;
test)	want=$test ;;
*)	echo "usage: tests/deps.sh build|test" >&2; exit 64 ;;
esac

missing=""
# npm: the build fetches the console's pinned xterm.js (console/package.json)
# and the tests their MCP peers (tests/node); any packaged node will do when
# one is already installed (CI machines bring Node 20).
if ! command -v npm >/dev/null 2>&1; then
	want="$want nodejs npm"
fi
for p in $want; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "tests/deps.sh: missing packages:$missing (run as root)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
