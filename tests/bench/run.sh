#!/bin/sh
# qmsd against its peers, in one run (tests/bench/README.md).  Installs what
# it needs (Debian packages, the pinned npm peers), builds build/bench
# (release), uses the dockerd of DOCKER_HOST or starts a private one for the
# run, builds the agent test image if missing, runs tests/bench/bench.py, and leaves
# tests/bench/RESULTS.md, results.json and plots/*.png.  Not part of the
# pass/fail suite.
#
#   sh tests/bench/run.sh [--quick]
#       [--only git,protocol,control,session,gateway,egress,mail]
#
# BENCH_IMAGE names the agent image (default qms-agent-test:latest, the
# tests' image); BENCH_BUILD the build directory (default build/bench).
set -eu
cd "$(dirname "$0")/../.."
top=$(pwd)
start=$(date +%s)

sh tests/deps.sh test
missing=""
command -v wrk >/dev/null 2>&1 || missing="$missing wrk"
# the egress proxy's peer (issue 15), run by bench.py in the foreground
command -v tinyproxy >/dev/null 2>&1 || missing="$missing tinyproxy"
/usr/bin/python3 -c 'import matplotlib' 2>/dev/null ||
    missing="$missing python3-matplotlib"
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
	    { apt-get update -qq &&
	      apt-get install -y -qq --no-install-recommends $missing \
	          >/dev/null; }
fi

# The peers, pinned by tests/bench/package-lock.json; installed again only
# when the lock file changes.
if ! cmp -s tests/bench/package-lock.json \
    tests/bench/node_modules/.qmsd-lock 2>/dev/null; then
	(cd tests/bench && npm ci --no-audit --no-fund --loglevel=error)
	cp tests/bench/package-lock.json tests/bench/node_modules/.qmsd-lock
fi

# A release build of the working tree, as installed.
build=${BENCH_BUILD:-build/bench}
mkdir -p build
if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" -Dbuildtype=release \
	    >"$build.setup.log" 2>&1 || { cat "$build.setup.log"; exit 1; }
else
	meson configure "$build" -Dbuildtype=release -Dwerror=true \
	    >"$build.setup.log" 2>&1 || { cat "$build.setup.log"; exit 1; }
fi
ninja -C "$build" >"$build.build.log" 2>&1 ||
    { cat "$build.build.log"; exit 1; }

# The dockerd named by DOCKER_HOST, or else one of the run's own as
# tests/run-all.sh makes it (stopped and removed at the end, images and
# all), and the agent image the tests run: built from docker/Dockerfile
# (tests/fixtures/build-agent-image.sh) when missing.
if [ -z "${DOCKER_HOST:-}" ]; then
	dockerdir=$(mktemp -d /tmp/qmsd-bench.XXXXXX)
	cleanup() {
		rc=$?
		trap - EXIT INT TERM
		sh "$top/tests/dockerd.sh" remove "$dockerdir" || rc=1
		exit $rc
	}
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	sh tests/dockerd.sh start "$dockerdir"
	export DOCKER_HOST="unix://$dockerdir/docker.sock"
fi
image=${BENCH_IMAGE:-qms-agent-test:latest}
if ! docker image inspect "$image" >/dev/null 2>&1; then
	echo "run.sh: building $image from docker/Dockerfile (minutes)"
	sh tests/fixtures/build-agent-image.sh "$image"
fi

case $build in /*) ;; *) build="$top/$build" ;; esac
BENCH_BUILD="$build" BENCH_IMAGE="$image" \
    /usr/bin/python3 tests/bench/bench.py "$@"
echo "run.sh: $(($(date +%s) - start)) s in all"
