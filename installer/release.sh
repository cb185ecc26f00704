#!/bin/sh
# release.sh - build every release artefact into dist/:
#   spec-kitty-<v>-<os>-<arch>.tar.gz  (linux, darwin)   both binaries, README,
#   spec-kitty-<v>-windows-<arch>.zip                    LICENSE, CHANGELOG, man
#                                                        pages, completions and
#                                                        the installer scripts
#   spec-kitty_<v>_<arch>.deb, spec-kitty-<v>-1.<arch>.rpm (linux, via package.sh)
#   SHA256SUMS, and from it the Homebrew formula, Scoop manifest and winget
#   manifests (installer/manifests.sh).
#
# usage: installer/release.sh [--out DIR] [--targets "linux/amd64 ..."]
# environment: SPEC_KITTY_VERSION (default: scripts/version.sh),
#   SPEC_KITTY_RELEASE_URL (where the archives will be downloaded from;
#   default: the GitHub release of tag v<version>).
#
# The darwin tray needs cgo and macOS's SDK: on a Mac it is built with
# CGO_ENABLED=1; elsewhere the darwin archives leave the tray out (the
# cgo-less build has no menu bar icon) and say so in NO-TRAY.txt.
set -eu

me=release.sh
die() {
	echo "$me: error: $*" >&2
	exit 1
}

root=$(cd "$(dirname "$0")/.." && pwd)
out=dist
targets="linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64"
while [ $# -gt 0 ]; do
	case $1 in
	--out)
		[ $# -ge 2 ] || die "--out needs a directory"
		out=$2
		shift 2
		;;
	--targets)
		[ $# -ge 2 ] || die "--targets needs a list"
		targets=$2
		shift 2
		;;
	*) die "unknown option: $1 (usage: installer/release.sh [--out DIR] [--targets \"os/arch ...\"])" ;;
	esac
done
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
cd "$root"

version=${SPEC_KITTY_VERSION:-}
[ -n "$version" ] || version=$(sh scripts/version.sh)
# File names avoid '+' (build metadata), which download URLs mangle.
fversion=$(printf '%s' "$version" | tr '+' '_')
url=${SPEC_KITTY_RELEASE_URL:-https://github.com/spec-kitty/spec-kitty-sync/releases/download/v$version}
ldflags="-s -w -X github.com/spec-kitty/spec-kitty-sync/core/version.Version=$version"
# Archive entries get the commit's time, so a rebuild of a commit is
# byte-identical where the tools allow.
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
host=$(go env GOHOSTOS)

rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/spec-kitty-release.XXXXXX")
trap 'rm -rf "$work"' EXIT

sha256() {
	if command -v sha256sum >/dev/null 2>&1; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}

for target in $targets; do
	goos=${target%/*}
	goarch=${target#*/}
	name=spec-kitty-$fversion-$goos-$goarch
	dir=$work/$name
	mkdir -p "$dir/man" "$dir/completions"
	echo "$me: building $name (version $version)"
	case $goos in
	windows)
		CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" -o "$dir/" ./cli/cmd/spec-kitty ||
			die "cannot build spec-kitty for $target"
		# The tray and the daemon's logon-task entry are GUI-subsystem
		# programs: no console window.
		CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags -H=windowsgui" -o "$dir/" \
			./tray/cmd/spec-kitty-tray ./cli/cmd/spec-kitty-service || die "cannot build the GUI programs for $target"
		cp installer/install.ps1 installer/uninstall.ps1 "$dir/"
		;;
	darwin)
		CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" -o "$dir/" ./cli/cmd/spec-kitty ||
			die "cannot build spec-kitty for $target"
		if [ "$host" = darwin ]; then
			CGO_ENABLED=1 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" -o "$dir/" ./tray/cmd/spec-kitty-tray ||
				die "cannot build spec-kitty-tray for $target (it needs cgo and Xcode's command line tools)"
		else
			echo "$me: note: $name has no spec-kitty-tray: the macOS tray needs cgo, so build the release on a Mac to include it" >&2
			cat >"$dir/NO-TRAY.txt" <<NOTE
This archive was built on $host, not macOS, so it holds no spec-kitty-tray:
the macOS menu bar icon needs a cgo build made on a Mac. spec-kitty itself is
complete. Build the tray on a Mac with 'make build'.
NOTE
		fi
		cp installer/install.sh installer/uninstall.sh "$dir/"
		;;
	*)
		CGO_ENABLED=0 GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags "$ldflags" -o "$dir/" \
			./cli/cmd/spec-kitty ./tray/cmd/spec-kitty-tray || die "cannot build $target"
		cp installer/install.sh installer/uninstall.sh "$dir/"
		;;
	esac
	cp README.md LICENSE CHANGELOG.md "$dir/"
	cp docs/man/*.1 "$dir/man/"
	cp installer/completions/* "$dir/completions/"
	find "$dir" -exec touch -h -d "@$epoch" {} + 2>/dev/null || true
	if [ "$goos" = windows ]; then
		(cd "$work" && find "$name" | LC_ALL=C sort | zip -q -X -@ "$out/$name.zip") || die "zip $name failed"
	elif tar --version 2>/dev/null | grep -q 'GNU tar'; then
		tar -C "$work" --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - "$name" |
			gzip -9n >"$out/$name.tar.gz"
	else
		tar -C "$work" -cf - "$name" | gzip -9n >"$out/$name.tar.gz"
	fi
	if [ "$goos" = linux ]; then
		GOARCH=$goarch SPEC_KITTY_VERSION=$version sh installer/package.sh --bin-dir "$dir" --out "$work/pkg" >/dev/null ||
			die "packaging $target failed"
	fi
done
if [ -d "$work/pkg" ]; then
	for f in "$work"/pkg/*.deb "$work"/pkg/*.rpm; do
		if [ -f "$f" ]; then cp "$f" "$out/"; fi
	done
fi

(
	cd "$out"
	set --
	for f in *.tar.gz *.zip *.deb *.rpm; do
		if [ -f "$f" ]; then set -- "$@" "$f"; fi
	done
	[ $# -gt 0 ] || die "nothing was built"
	sha256 "$@" >SHA256SUMS
)
sh installer/manifests.sh --dist "$out" --version "$version" --url "$url"
echo "$me: release $version in $out:"
(cd "$out" && ls -l)
