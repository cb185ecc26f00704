#!/bin/sh
# package.sh - build the Linux .deb and .rpm into dist/ with nfpm (pinned).
#
# usage: installer/package.sh [--out DIR] [--bin-dir DIR]
#   --out DIR      where the packages go (default: dist)
#   --bin-dir DIR  take prebuilt linux binaries spec-kitty and spec-kitty-tray
#                  from DIR instead of building them
# environment: SPEC_KITTY_VERSION (default: scripts/version.sh), GOARCH
#   (default: go env GOARCH), SPEC_KITTY_MAINTAINER.
# nfpm is the tool pinned in go.mod (`go tool nfpm`), so packaging works
# offline from the module cache.
set -eu

me=package.sh

die() {
	echo "$me: error: $*" >&2
	exit 1
}

root=$(cd "$(dirname "$0")/.." && pwd)
out=dist
bin_dir=
while [ $# -gt 0 ]; do
	case $1 in
	--out)
		[ $# -ge 2 ] || die "--out needs a directory"
		out=$2
		shift 2
		;;
	--bin-dir)
		[ $# -ge 2 ] || die "--bin-dir needs a directory"
		bin_dir=$2
		shift 2
		;;
	*) die "unknown option: $1 (usage: installer/package.sh [--out DIR] [--bin-dir DIR])" ;;
	esac
done
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
if [ -n "$bin_dir" ]; then
	case $bin_dir in /*) ;; *) bin_dir=$(pwd)/$bin_dir ;; esac
fi
cd "$root"

arch=${GOARCH:-$(go env GOARCH)}
version=${SPEC_KITTY_VERSION:-}
[ -n "$version" ] || version=$(sh scripts/version.sh)

# The helpers run here: build them for this machine whatever GOARCH says.
hostenv="GOOS=$(go env GOHOSTOS) GOARCH=$(go env GOHOSTARCH)"
env $hostenv go run ./installer/gen -check || die "the packaged unit is stale: run 'go run ./installer/gen'"

mkdir -p "$out"
if [ -z "$bin_dir" ]; then
	bin_dir=$out/linux-$arch
	mkdir -p "$bin_dir"
	for pair in spec-kitty:./cli/cmd/spec-kitty spec-kitty-tray:./tray/cmd/spec-kitty-tray; do
		name=${pair%%:*}
		pkg=${pair#*:}
		echo "$me: building $name ($pkg) for linux/$arch, version $version"
		CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath \
			-ldflags "-s -w -X github.com/spec-kitty/spec-kitty-sync/core/version.Version=$version" \
			-o "$bin_dir/$name" "$pkg" || die "cannot build $name from $pkg"
	done
fi
for name in spec-kitty spec-kitty-tray; do
	[ -f "$bin_dir/$name" ] || die "missing $bin_dir/$name"
done

# Man pages are shipped gzipped (-n: no name or time stamp, reproducible).
stage=$(mktemp -d "${TMPDIR:-/tmp}/spec-kitty-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir "$stage/man"
for page in docs/man/*.1; do
	gzip -9nc "$page" >"$stage/man/$(basename "$page").gz"
done

for packager in deb rpm; do
	SPEC_KITTY_ARCH=$arch SPEC_KITTY_VERSION=$version SPEC_KITTY_BIN_DIR=$bin_dir SPEC_KITTY_STAGE=$stage \
		SPEC_KITTY_MAINTAINER=${SPEC_KITTY_MAINTAINER:-Spec Kitty maintainers <spec-kitty@users.noreply.github.com>} \
		env $hostenv go tool nfpm package --config installer/nfpm.yaml --packager "$packager" --target "$out/" ||
		die "nfpm $packager failed"
done
