#!/bin/sh
# package.sh - build the Linux .deb and .rpm into dist/ with nfpm (pinned).
#
# usage: installer/package.sh [--out DIR] [--bin-dir DIR]
#   --out DIR      where the packages go (default: dist)
#   --bin-dir DIR  take prebuilt linux binaries spec-kitty and spec-kitty-tray
#                  from DIR instead of building them
# environment: SPEC_KITTY_VERSION (default: from `git describe`, else 0.0.0),
#   GOARCH (default: go env GOARCH), SPEC_KITTY_MAINTAINER.
set -eu

me=package.sh
nfpm=github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2

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
if [ -z "$version" ]; then
	version=$(git describe --tags --match 'v[0-9]*' 2>/dev/null || true)
	version=${version#v}
fi
[ -n "$version" ] || version=0.0.0

go run ./installer/gen -check || die "the packaged unit is stale: run 'go run ./installer/gen'"

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

for packager in deb rpm; do
	SPEC_KITTY_ARCH=$arch SPEC_KITTY_VERSION=$version SPEC_KITTY_BIN_DIR=$bin_dir \
		SPEC_KITTY_MAINTAINER=${SPEC_KITTY_MAINTAINER:-Spec Kitty maintainers} \
		go run "$nfpm" package --config installer/nfpm.yaml --packager "$packager" --target "$out/" ||
		die "nfpm $packager failed"
done
