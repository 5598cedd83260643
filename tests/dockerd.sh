#!/bin/sh
# A private dockerd for the tests: its own data root, exec root and socket
# under DIR, no bridge and no iptables rules (containers in the tests use
# host networking, and nothing here may reach a private-range address).
#
# Usage: tests/dockerd.sh start|stop|remove DIR
#   start   start one at DIR/docker.sock, or do nothing if one answers there
#           (so a developer can start it once and run single tests against
#           it: export DOCKER_HOST=unix://DIR/docker.sock)
#   stop    stop the one started at DIR (its containers with it) and unmount
#           what it leaves mounted under DIR; its images stay in DIR/data
#   remove  stop, then delete DIR and everything in it
# A unix socket's path is limited to 107 bytes: keep DIR short.
set -eu
usage="usage: tests/dockerd.sh start|stop|remove DIR"
cmd=${1:?$usage}
dir=${2:?$usage}
case $dir in
/*) ;;
*) dir="$(pwd)/$dir" ;;
esac
dir=${dir%/}
sock="$dir/docker.sock"

# Whether PID is the dockerd (or its containerd) of DIR: a pid file can
# outlive its process, and the number be someone else's by now.
ours() {
	[ -r "/proc/$1/cmdline" ] &&
	    tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF "$dir/"
}

# Send TERM to the process in pid file $1 if it is ours, wait up to $2
# tenths of a second for it to go, then KILL it.
end() {
	[ -f "$1" ] || return 0
	pid=$(cat "$1")
	ours "$pid" || return 0
	kill "$pid" 2>/dev/null || return 0
	i=0
	while kill -0 "$pid" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt "$2" ]; then
			echo "tests/dockerd.sh: $pid did not stop; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.5
			break
		fi
		sleep 0.1
	done
}

# Every mount point under DIR, deepest first: what dockerd leaves behind
# (its default network namespace, the data root it bind-mounts onto itself,
# the file systems of containers it could not stop).  mountinfo's field 5
# is the mount point, with blanks written \040; DIR has none.
mounts() {
	awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo |
	    sort -r
}

stop() {
	# dockerd stops its containers (10 s each at most, in parallel) and
	# then its containerd; give it that and some.
	end "$dir/docker.pid" 600
	# A dockerd that had to be killed leaves its containerd running.
	end "$dir/exec/containerd/containerd.pid" 100
	for m in $(mounts); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
	done
}

case $cmd in
start)
	if [ ${#sock} -gt 107 ]; then
		echo "tests/dockerd.sh: $sock: path too long for a socket" >&2
		exit 1
	fi
	mkdir -p "$dir"
	if DOCKER_HOST="unix://$sock" docker version >/dev/null 2>&1; then
		exit 0
	fi
	# In a session of its own: a ^C at the terminal goes to the tests, and
	# the dockerd is stopped after them, by whoever started it.
	setsid dockerd --data-root "$dir/data" --exec-root "$dir/exec" \
	    --host "unix://$sock" --pidfile "$dir/docker.pid" \
	    --bridge=none --iptables=false --ip6tables=false --ip-masq=false \
	    </dev/null >"$dir/dockerd.log" 2>&1 &
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
	stop
	;;
remove)
	stop
	if [ -n "$(mounts)" ]; then
		echo "tests/dockerd.sh: still mounted under $dir, not removed:" >&2
		mounts >&2
		exit 1
	fi
	# Not across a file system boundary, should a mount appear meanwhile.
	rm -rf --one-file-system "$dir"
	;;
*)
	echo "$usage" >&2
	exit 64
	;;
esac
