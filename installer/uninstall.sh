#!/bin/sh
# uninstall.sh - remove what install.sh installed, as listed in
# PREFIX/share/spec-kitty/install-manifest. POSIX sh.
#
# install.sh copies this script to PREFIX/share/spec-kitty/uninstall.sh; run
# from there it finds PREFIX itself.
set -eu

me=uninstall.sh

usage() {
	cat <<'EOF'
usage: uninstall.sh [--prefix DIR] [--dry-run] [--force]

Removes exactly what install.sh recorded in PREFIX/share/spec-kitty/install-manifest:
the service (through `spec-kitty service uninstall`), the tray autostart entry,
the binaries, and the directories install.sh created (when empty).

  --prefix DIR   the prefix given to install.sh (default: the prefix this
                 script was installed into, else ~/.local)
  --dry-run      print what would be removed and change nothing
  --force        keep going when `spec-kitty service uninstall` fails
  -h, --help     show this help
EOF
}

die() {
	echo "$me: error: $*" >&2
	exit 1
}

usage_error() {
	echo "$me: error: $*" >&2
	echo "$me: hint: run 'sh uninstall.sh --help'" >&2
	exit 2
}

here=$(cd "$(dirname "$0")" && pwd)
prefix=
dry=0
force=0
while [ $# -gt 0 ]; do
	case $1 in
	--prefix)
		[ $# -ge 2 ] || usage_error "--prefix needs a directory"
		prefix=$2
		shift 2
		;;
	--prefix=*)
		prefix=${1#*=}
		shift
		;;
	--dry-run)
		dry=1
		shift
		;;
	--force)
		force=1
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown option: $1" ;;
	esac
done

if [ -z "$prefix" ]; then
	case $here in
	*/share/spec-kitty) prefix=${here%/share/spec-kitty} ;;
	*) prefix=${HOME:?HOME is not set}/.local ;;
	esac
fi
case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac
prefix=${prefix%/}

manifest=$prefix/share/spec-kitty/install-manifest
[ -f "$manifest" ] || die "no install manifest at $manifest: nothing to uninstall (pass the --prefix given to install.sh)"

say() { printf '%s\n' "$*"; }

# entries TYPE: the paths of the manifest lines of that type.
entries() {
	while IFS= read -r line; do
		case $line in "$1 "*) printf '%s\n' "${line#* }" ;; esac
	done <"$manifest"
}

# Read the manifest once: it is removed before the directories are.
files=$(entries file)
dirs=$(entries dir)

# The service goes first, while the binary that removes it is still there.
# The service commands exist only with hosted sync enabled; the service was
# installed with it on, so removing it turns the gate on for this one command.
if [ -n "$(entries service)" ]; then
	bin=$prefix/bin/spec-kitty
	if [ "$dry" = 1 ]; then
		say "would run: $bin service uninstall"
	else
		say "running: $bin service uninstall"
		rc=0
		SPEC_KITTY_ENABLE_SAAS_SYNC=1 "$bin" service uninstall || rc=$?
		if [ "$rc" != 0 ]; then
			if [ "$force" = 1 ]; then
				echo "$me: warning: 'spec-kitty service uninstall' failed (exit $rc); continuing (--force)" >&2
			else
				echo "$me: error: 'spec-kitty service uninstall' failed (exit $rc); nothing was removed" >&2
				echo "$me: hint: fix the error above and run this again, or add --force to remove the files anyway" >&2
				exit 1
			fi
		fi
	fi
fi

# A loaded tray LaunchAgent is unloaded before its plist goes.
if [ -n "$(entries tray-agent)" ] && command -v launchctl >/dev/null 2>&1; then
	if [ "$dry" = 1 ]; then
		say "would run: launchctl bootout gui/$(id -u)/spec-kitty-tray"
	else
		launchctl bootout "gui/$(id -u)/spec-kitty-tray" 2>/dev/null || true
	fi
fi

printf '%s\n' "$files" | while IFS= read -r f; do
	[ -n "$f" ] || continue
	if [ ! -e "$f" ] && [ ! -L "$f" ]; then
		say "already gone: $f"
	elif [ "$dry" = 1 ]; then
		say "would remove $f"
	else
		rm -f "$f"
		say "removed $f"
	fi
done

if [ "$dry" = 1 ]; then
	say "would remove $manifest"
else
	rm -f "$manifest"
	say "removed $manifest"
fi

# Directories install.sh created, deepest first; kept when not empty.
printf '%s\n' "$dirs" | sort -r | while IFS= read -r d; do
	[ -n "$d" ] && [ -d "$d" ] || continue
	if [ "$dry" = 1 ]; then
		say "would remove directory $d (if empty)"
	elif rmdir "$d" 2>/dev/null; then
		say "removed directory $d"
	else
		say "kept directory $d (not empty)"
	fi
done

if [ "$dry" = 1 ]; then
	say "dry run: nothing was changed"
else
	say "spec-kitty is uninstalled from $prefix"
fi
