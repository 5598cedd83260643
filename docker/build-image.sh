#!/bin/sh
# Build the agent image from docker/Dockerfile: the one supported way, which
# also works where Docker Hub is out of reach and behind a TLS-inspecting
# proxy.
#
#  - The base: the one -b names; else debian:bookworm-slim when Docker has
#    it; else qms-debian:bookworm when an earlier run made it; else
#    debian:bookworm-slim pulled, when Docker Hub answers within
#    PULL_TIMEOUT seconds; else a Debian 12 base made here with debootstrap
#    (debian-base.sh, as root).  Local images first, so that a second build
#    asks no registry; -d skips the pull.
#  - The host's extra CA certificates go in as EXTRA_CA_CERTS, since npm
#    (and later git, gh and Claude) fail with SELF_SIGNED_CERT_IN_CHAIN
#    behind a proxy that re-signs TLS: the *.crt of
#    /usr/local/share/ca-certificates (Debian), the files of
#    /etc/pki/ca-trust/source/anchors (Fedora), and what NODE_EXTRA_CA_CERTS
#    and SSL_CERT_FILE name, unless that is the system's whole bundle
#    (whose additions are those two directories, and which is too big for a
#    build argument).  What was found is said on stderr.
#  - Host networking, so that apt and npm reach what the host reaches (a
#    proxy on its loopback, its DNS), and the proxy variables that are set
#    passed on (Docker keeps them out of the image).
#
# Quiet on success (one line on stdout); on failure, the end of the build's
# log.  Usage: see usage() below.
set -eu
me=build-image.sh

usage() {
	cat >&2 <<EOF
usage: $me [-dn] [-b base] [-t tag] [-v version]
  -b base     build on this image (default: see the top of this script)
  -d          make the Debian base with debootstrap, without Docker Hub
  -n          say what would be done, build nothing
  -t tag      the image's tag (default qms-agent:latest)
  -v version  Claude Code's npm version (default \$CLAUDE_CODE_VERSION,
              else latest)
EOF
	exit 2
}

die() {
	echo "$me: $*" >&2
	exit 1
}

tag=qms-agent:latest
version=${CLAUDE_CODE_VERSION:-latest}
base=
debootstrap_only=
dry=
while getopts b:dnt:v: opt; do
	case $opt in
	b) base=$OPTARG ;;
	d) debootstrap_only=1 ;;
	n) dry=1 ;;
	t) tag=$OPTARG ;;
	v) version=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
[ -n "$base" ] && [ -n "$debootstrap_only" ] && usage

dir=$(cd "$(dirname "$0")" && pwd)
slim=debian:bookworm-slim
made=qms-debian:bookworm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- The host's extra CA certificates ---------------------------------------

: >"$work/files"
for d in /usr/local/share/ca-certificates /etc/pki/ca-trust/source/anchors; do
	[ -d "$d" ] || continue
	if [ "$d" = /usr/local/share/ca-certificates ]; then
		# update-ca-certificates takes only *.crt, in subdirectories too.
		find -L "$d" -type f -name '*.crt' | sort >>"$work/files"
	else
		find -L "$d" -type f | sort >>"$work/files"
	fi
done
skipped=
for var in NODE_EXTRA_CA_CERTS SSL_CERT_FILE; do
	eval "f=\${$var:-}"
	[ -n "$f" ] || continue
	if [ ! -f "$f" ]; then
		echo "$me: $var=$f is not a file; not passed" >&2
		continue
	fi
	case $(readlink -f "$f") in
	/etc/ssl/certs/ca-certificates.crt | /etc/ssl/cert.pem | \
	    /etc/ssl/ca-bundle.pem | /etc/pki/tls/certs/ca-bundle.crt | \
	    /etc/pki/tls/cert.pem | \
	    /etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem)
		skipped="$skipped $var"
		continue ;;
	esac
	echo "$f" >>"$work/files"
done
# One name per file, however it was reached.
while IFS= read -r f; do
	readlink -f "$f"
done <"$work/files" | awk '!seen[$0]++' >"$work/real"
found=
: >"$work/pem"
while IFS= read -r f; do
	n=$(grep -c -- '-----BEGIN CERTIFICATE-----' "$f" || true)
	if [ "$n" = 0 ]; then
		echo "$me: $f holds no PEM certificate; not passed" \
		    "(from DER: openssl x509 -inform der -in FILE)" >&2
		continue
	fi
	found="$found $f ($n)"
	cat "$f" >>"$work/pem"
done <"$work/real"
# Each certificate once, carriage returns gone (update-ca-certificates
# reads PEM only, and a bundle may repeat what a directory holds).
awk '{ sub(/\r$/, "") }
/^-----BEGIN CERTIFICATE-----$/ { c = ""; in_cert = 1 }
in_cert { c = c $0 "\n" }
/^-----END CERTIFICATE-----$/ && in_cert {
	in_cert = 0
	if (!(c in seen)) { seen[c] = 1; n++; printf "%s", c }
}
END { print n + 0 > "/dev/stderr" }' "$work/pem" >"$work/certs" \
    2>"$work/count"
if [ -n "$found" ]; then
	echo "$me: extra CA certificates passed to the image:$found;" \
	    "$(cat "$work/count") in all" >&2
else
	echo "$me: no extra CA certificates found" \
	    "(/usr/local/share/ca-certificates/*.crt," \
	    "/etc/pki/ca-trust/source/anchors, NODE_EXTRA_CA_CERTS," \
	    "SSL_CERT_FILE)" >&2
fi
[ -z "$skipped" ] ||
	echo "$me: not passed, the system's whole bundle:$skipped" >&2
# A build argument is one execve argument, which Linux caps at 128 KiB.
size=$(wc -c <"$work/certs")
[ "$size" -le 100000 ] || die "the certificates found come to $size" \
    "bytes, more than a build argument holds; name only the proxy's" \
    "certificate in NODE_EXTRA_CA_CERTS"

# --- Docker and the base ----------------------------------------------------

command -v docker >/dev/null 2>&1 ||
	die "docker is not installed (Debian: apt-get install docker.io)"
docker version --format '{{.Server.Version}}' >/dev/null 2>"$work/err" ||
	die "Docker does not answer: $(tail -1 "$work/err")"

has() {
	docker image inspect "$1" >/dev/null 2>&1
}

make_base=
if [ -n "$base" ]; then
	:
elif [ -n "$debootstrap_only" ]; then
	base=$made
	has "$made" || make_base=1
elif has "$slim"; then
	base=$slim
elif has "$made"; then
	base=$made
elif [ -n "$dry" ]; then
	base="$slim if Docker Hub answers, else $made"
else
	# Where no registry is reachable a pull fails at once (no such host)
	# or hangs on a dropped connection: bound it either way.
	echo "$me: pulling $slim" >&2
	t=
	pt=${PULL_TIMEOUT:-120}
	case $pt in
	''|*[!0-9]*) die "PULL_TIMEOUT must be a number of seconds: $pt" ;;
	esac
	command -v timeout >/dev/null 2>&1 && t="timeout $pt"
	if $t docker pull -q "$slim" >/dev/null 2>"$work/err"; then
		base=$slim
	else
		echo "$me: no $slim from Docker Hub ($(tail -1 "$work/err"));" \
		    "making a Debian base with debootstrap instead" >&2
		base=$made
		make_base=1
	fi
fi

# --- The build --------------------------------------------------------------

set -- --network host --build-arg "BASE=$base" \
    --build-arg "CLAUDE_CODE_VERSION=$version"
# Without =VALUE, docker takes each from this environment.
proxies=
for v in http_proxy https_proxy no_proxy all_proxy ftp_proxy \
    HTTP_PROXY HTTPS_PROXY NO_PROXY ALL_PROXY FTP_PROXY; do
	eval "[ -n \"\${$v:-}\" ]" || continue
	set -- "$@" --build-arg "$v"
	proxies="$proxies $v"
done
[ -z "$proxies" ] || echo "$me: passing$proxies from the environment" >&2

if [ -n "$dry" ]; then
	[ -z "$make_base" ] ||
		echo "would make $made with $dir/debian-base.sh (debootstrap)"
	echo "would run: docker build $*" \
	    "--build-arg EXTRA_CA_CERTS=<$(cat "$work/count") certificates>" \
	    "-t $tag $dir"
	exit 0
fi
[ -z "$make_base" ] || sh "$dir/debian-base.sh" "$made"

echo "$me: building $tag on $base (minutes: Debian packages and" \
    "Claude Code $version from npm)" >&2
log=$(mktemp "${TMPDIR:-/tmp}/qms-agent-build.XXXXXX")
if ! docker build "$@" --build-arg "EXTRA_CA_CERTS=$(cat "$work/certs")" \
    -t "$tag" "$dir" >"$log" 2>&1; then
	# The legacy builder colours what RUN writes to stderr.
	esc=$(printf '\033')
	tail -30 "$log" | sed "s/$esc\[[0-9;]*m//g" >&2
	if grep -q -e SELF_SIGNED_CERT -e 'unable to get local issuer' \
	    -e 'certificate verify failed' "$log"; then
		echo "$me: a TLS-inspecting proxy whose certificate this host" \
		    "does not hold: put it (PEM) in" \
		    "/usr/local/share/ca-certificates/NAME.crt or name it in" \
		    "NODE_EXTRA_CA_CERTS" >&2
	fi
	die "the build failed; its whole log: $log"
fi
rm -f "$log"
claude=$(docker run --rm --network none --entrypoint claude "$tag" \
    --version 2>/dev/null || echo "Claude Code ?")
echo "built $tag on $base: $claude"
