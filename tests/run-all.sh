#!/bin/sh
# The whole suite, as CI runs it: install what the tests need, build twice
# (gcc; clang with ASan+UBSan and the libFuzzer harnesses), run every test
# in both builds, and end with one line "N passed, N failed in TIME".  Exits
# non-zero if anything failed.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
start=$(date +%s)

# A dockerd of the run's own, in a new directory (under /tmp, not TMPDIR:
# a socket's path must stay short), stopped and removed however the run
# ends, with whatever the tests left in it.  Its data root is fresh, so the
# run builds the agent image (docker/Dockerfile, the first test of the slow
# suite) and a run cannot pass on an image an earlier one left.
dockerdir=$(mktemp -d /tmp/qmsd-ci.XXXXXX)
# Others than root reach the socket, or are told why not (the tests of
# permission denied run qmsd as nobody).
chmod 755 "$dockerdir"
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	sh "$top/tests/dockerd.sh" remove "$dockerdir" || rc=1
	exit $rc
}
# On INT or TERM, the tests running are ended first (meson test ends its
# tests on TERM), then the dockerd.
interrupted() {
	trap '' INT TERM
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" || true
	fi
	exit "$1"
}
child=
trap cleanup EXIT
trap 'interrupted 130' INT
trap 'interrupted 143' TERM

# A test run, waited for in the background: the shell takes a trap only
# when its foreground command has ended, and a run told to stop should not
# go on for the half hour the slow suite may take.
run_tests() {
	meson test "$@" &
	child=$!
	wait "$child" && rc=0 || rc=$?
	child=
	return $rc
}

sh tests/deps.sh test

# The real MCP servers and clients the tests run against, pinned by the
# lock file; installed again only when the lock file changes.
if ! cmp -s tests/node/package-lock.json \
    tests/node/node_modules/.qmsd-lock 2>/dev/null; then
	(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
	cp tests/node/package-lock.json tests/node/node_modules/.qmsd-lock
fi

setup() {
	dir=$1; shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
	else
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
	fi || { cat "$dir.setup.log"; exit 1; }
	ninja -C "$dir" >"$dir.build.log" 2>&1 ||
	    { cat "$dir.build.log"; exit 1; }
}

sh tests/dockerd.sh start "$dockerdir"
export DOCKER_HOST="unix://$dockerdir/docker.sock"

mkdir -p build
# gcc at -O3, as installed (README: buildtype=release): it sees more
# format-truncation cases than -O2 does, and -Werror stops them here.
setup build/ci-gcc -Dbuildtype=release
CC=clang setup build/ci-asan -Db_sanitize=address,undefined \
    -Db_lundef=false -Dc_args=-fno-sanitize-recover=all -Dfuzz=true

# The slow suite once, first: it builds the agent image the others use,
# and runs qmsd under systemd.  Then everything else in both builds.  Each
# run's log is kept for the count below (meson overwrites testlog.json).
status=0
echo "== ci-gcc, slow suite"
run_tests -C build/ci-gcc --print-errorlogs --suite slow || status=1
cp build/ci-gcc/meson-logs/testlog.json build/ci-gcc/meson-logs/slow.json
# Three at a time on two cores: most tests wait (on Docker, on a
# container's Claude, on a timer) far more than they compute.
for b in ci-gcc ci-asan; do
	echo "== $b"
	run_tests -C "build/$b" --print-errorlogs --num-processes 3 \
	    --no-suite slow || status=1
	cp "build/$b/meson-logs/testlog.json" "build/$b/meson-logs/rest.json"
done

python3 - $(($(date +%s) - start)) \
    "$top/build/ci-gcc/meson-logs/slow.json" \
    "$top/build/ci-gcc/meson-logs/rest.json" \
    "$top/build/ci-asan/meson-logs/rest.json" <<'PY'
import json, sys
passed = failed = skipped = 0
for log in sys.argv[2:]:
    with open(log) as f:
        for line in f:
            r = json.loads(line)["result"]
            if r in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r == "SKIP":
                skipped += 1
            else:
                failed += 1
tail = ", %d skipped" % skipped if skipped else ""
took = int(sys.argv[1])
print("%d passed, %d failed%s in %dm%02ds" % (passed, failed, tail,
                                             took // 60, took % 60))
sys.exit(1 if failed else 0)
PY
exit $status
