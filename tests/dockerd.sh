#!/bin/sh
# A private dockerd for the tests: its own data root, exec root and socket
# under DIR, no bridge and no iptables rules (containers in the tests use
# host networking, and nothing here may reach a private-range address).
# Usage: tests/dockerd.sh start|stop DIR
set -eu
cmd=${1:?usage: tests/dockerd.sh start|stop DIR}
dir=${2:?usage: tests/dockerd.sh start|stop DIR}
sock="$dir/docker.sock"

case $cmd in
start)
	mkdir -p "$dir"
	if DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; then
		exit 0
	fi
	dockerd --data-root "$dir/data" --exec-root "$dir/exec" \
	    --host "unix://$sock" --pidfile "$dir/docker.pid" \
	    --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
	    >"$dir/dockerd.log" 2>&1 &
	i=0
	until DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 300 ]; then
			echo "dockerd did not start; its log:" >&2
			tail -20 "$dir/dockerd.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	;;
stop)
	[ -f "$dir/docker.pid" ] || exit 0
	pid=$(cat "$dir/docker.pid")
	kill "$pid" 2>/dev/null || exit 0
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	# dockerd leaves its default network namespace mounted.
	umount "$dir/exec/netns/default" 2>/dev/null || true
	;;
*)
	echo "usage: tests/dockerd.sh start|stop DIR" >&2
	exit 64
	;;
esac
