#!/bin/sh
# install.sh - install spec-kitty and spec-kitty-tray for the current user
# (Linux and macOS). POSIX sh. Run with --help for the options.
#
# Everything it creates is listed in PREFIX/share/spec-kitty/install-manifest;
# PREFIX/share/spec-kitty/uninstall.sh removes exactly that.
set -eu

me=install.sh
here=$(cd "$(dirname "$0")" && pwd)

usage() {
	cat <<'EOF'
usage: install.sh [--prefix DIR] [--from DIR] [--service] [--tray-autostart] [--dry-run]

Installs spec-kitty and spec-kitty-tray into PREFIX/bin for the current user.

  --prefix DIR       install under DIR (default: ~/.local)
  --from DIR         take the binaries from DIR (default: ./bin)
  --service          also run `spec-kitty service install` (the per-user
                     sync service; needs SPEC_KITTY_ENABLE_SAAS_SYNC=1)
  --tray-autostart   start spec-kitty-tray at login (XDG autostart entry on
                     Linux, a LaunchAgent on macOS); the entry records
                     SPEC_KITTY_ENABLE_SAAS_SYNC, SPEC_KITTY_SAAS_URL and
                     SPEC_KITTY_HOME from this shell
  --dry-run          print what would be done and change nothing
  -h, --help         show this help

Undo with: sh PREFIX/share/spec-kitty/uninstall.sh
EOF
}

die() {
	echo "$me: error: $*" >&2
	exit 1
}

usage_error() {
	echo "$me: error: $*" >&2
	echo "$me: hint: run 'sh install.sh --help'" >&2
	exit 2
}

prefix=${HOME:?HOME is not set}/.local
from=./bin
service=0
tray_autostart=0
dry=0
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
	--from)
		[ $# -ge 2 ] || usage_error "--from needs a directory"
		from=$2
		shift 2
		;;
	--from=*)
		from=${1#*=}
		shift
		;;
	--service)
		service=1
		shift
		;;
	--tray-autostart)
		tray_autostart=1
		shift
		;;
	--dry-run)
		dry=1
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown option: $1" ;;
	esac
done

[ -n "$prefix" ] || usage_error "--prefix is empty"
case $prefix in /*) ;; *) prefix=$(pwd)/$prefix ;; esac
case $from in /*) ;; *) from=$(pwd)/$from ;; esac
prefix=${prefix%/}
[ -n "$prefix" ] || usage_error "refusing to install into /"

# Paths end up in a .desktop Exec line, a plist and the manifest: refuse the
# characters those would need escaping for.
nl='
'
for p in "$prefix" "$from"; do
	case $p in
	*"$nl"* | *'"'* | *'`'* | *'$'* | *'\'* | *'%'* | *'&'* | *'<'* | *'>'*)
		usage_error "path '$p' contains a character that is not supported (newline, \" \` \$ \\ % & < >)"
		;;
	esac
done

# The tray's autostart entry records the opt-in and its settings from this
# shell, as `spec-kitty service install` does for the service: a login
# session does not read the shell's profile.
tray_env=
for var in SPEC_KITTY_ENABLE_SAAS_SYNC SPEC_KITTY_SAAS_URL SPEC_KITTY_HOME; do
	eval "val=\${$var:-}"
	[ -n "$val" ] || continue
	case $val in
	*"$nl"* | *'"'* | *'`'* | *'$'* | *'\'* | *'%'* | *'&'* | *'<'* | *'>'* | *' '* | *"'"*)
		usage_error "$var='$val' contains a character that cannot be recorded in the autostart entry (space, newline, quote, \` \$ \\ % & < >)"
		;;
	esac
	tray_env="$tray_env $var=$val"
done
tray_env=${tray_env# }

os=${SPEC_KITTY_INSTALL_OS:-$(uname -s)}
case $os in
Linux | Darwin) ;;
*) die "unsupported system '$os' (install.sh supports Linux and macOS; on Windows use install.ps1)" ;;
esac

[ -f "$from/spec-kitty" ] || die "no spec-kitty binary in $from (build it with 'make build', or pass --from DIR)"
[ -f "$here/uninstall.sh" ] || die "uninstall.sh is missing next to install.sh in $here"
have_tray=0
[ -f "$from/spec-kitty-tray" ] && have_tray=1
# A darwin tray built without cgo compiles but has no menu bar icon (its
# --version says so): never install it as if it were the tray.
stub_tray=0
if [ "$have_tray" = 1 ] && [ "$os" = Darwin ] && grep -q 'stub: built without cgo' "$from/spec-kitty-tray" 2>/dev/null; then
	stub_tray=1
	have_tray=0
	if [ "$tray_autostart" = 1 ]; then
		die "$from/spec-kitty-tray is the stub built without cgo (no menu bar icon); build the tray on a Mac with CGO_ENABLED=1 ('make build' does), or leave out --tray-autostart"
	fi
fi
if [ "$tray_autostart" = 1 ] && [ "$have_tray" = 0 ]; then
	die "--tray-autostart given but there is no spec-kitty-tray binary in $from"
fi

bindir=$prefix/bin
sharedir=$prefix/share/spec-kitty
manifest=$sharedir/install-manifest
records=$(mktemp "${TMPDIR:-/tmp}/spec-kitty-install.XXXXXX")
trap 'rm -f "$records"' EXIT

say() { printf '%s\n' "$*"; }

# record TYPE PATH: one manifest line.
record() { printf '%s %s\n' "$1" "$2" >>"$records"; }

# mkdirs DIR: create DIR and its missing parents, recording each one created.
mkdirs() {
	d=$1
	missing=
	while [ ! -d "$d" ]; do
		missing="$d$nl$missing"
		d=$(dirname "$d")
	done
	printf '%s' "$missing" | while IFS= read -r m; do
		[ -n "$m" ] || continue
		if [ "$dry" = 1 ]; then
			say "would create directory $m"
		else
			mkdir "$m"
			say "created directory $m"
		fi
		record dir "$m"
	done
}

# put SRC DST MODE: copy through a temp file and rename, so a running binary
# is replaced rather than overwritten in place.
put() {
	if [ "$dry" = 1 ]; then
		say "would install $2"
	else
		cp "$1" "$2.tmp.$$"
		chmod "$3" "$2.tmp.$$"
		mv -f "$2.tmp.$$" "$2"
		say "installed $2"
	fi
	record file "$2"
}

# write DST MODE: write stdin to DST.
write() {
	if [ "$dry" = 1 ]; then
		say "would write $1:"
		sed 's/^/    /'
	else
		cat >"$1.tmp.$$"
		chmod "$2" "$1.tmp.$$"
		mv -f "$1.tmp.$$" "$1"
		say "wrote $1"
	fi
	record file "$1"
}

mkdirs "$bindir"
put "$from/spec-kitty" "$bindir/spec-kitty" 755
if [ "$have_tray" = 1 ]; then
	put "$from/spec-kitty-tray" "$bindir/spec-kitty-tray" 755
elif [ "$stub_tray" = 1 ]; then
	say "note: $from/spec-kitty-tray is the stub built without cgo; the tray is not installed"
else
	say "note: no spec-kitty-tray in $from; the tray is not installed"
fi
mkdirs "$sharedir"
put "$here/uninstall.sh" "$sharedir/uninstall.sh" 644

# A release archive also holds man pages and shell completions next to the
# binaries; install them where man and the shells look under PREFIX.
if [ -d "$from/man" ]; then
	for page in "$from"/man/*.1; do
		[ -f "$page" ] || continue
		mkdirs "$prefix/share/man/man1"
		put "$page" "$prefix/share/man/man1/$(basename "$page")" 644
	done
fi
for pair in spec-kitty.bash:bash-completion/completions/spec-kitty \
	_spec-kitty:zsh/site-functions/_spec-kitty \
	spec-kitty.fish:fish/vendor_completions.d/spec-kitty.fish; do
	src=$from/completions/${pair%%:*}
	dst=$prefix/share/${pair#*:}
	[ -f "$src" ] || continue
	mkdirs "$(dirname "$dst")"
	put "$src" "$dst" 644
done

if [ "$tray_autostart" = 1 ]; then
	if [ "$os" = Linux ]; then
		autostart=${XDG_CONFIG_HOME:-$HOME/.config}/autostart
		mkdirs "$autostart"
		exec_line="\"$bindir/spec-kitty-tray\""
		[ -z "$tray_env" ] || exec_line="env $tray_env $exec_line"
		write "$autostart/spec-kitty-tray.desktop" 644 <<EOF
[Desktop Entry]
Type=Application
Name=Spec Kitty Sync
Comment=Spec Kitty Sync status in the system tray
TryExec=$bindir/spec-kitty-tray
Exec=$exec_line
Terminal=false
NoDisplay=true
X-GNOME-Autostart-enabled=true
EOF
	else
		agents=$HOME/Library/LaunchAgents
		mkdirs "$agents"
		plist_env=
		if [ -n "$tray_env" ]; then
			plist_env="	<key>EnvironmentVariables</key>
	<dict>"
			for kv in $tray_env; do
				plist_env="$plist_env
		<key>${kv%%=*}</key>
		<string>${kv#*=}</string>"
			done
			plist_env="$plist_env
	</dict>
"
		fi
		write "$agents/spec-kitty-tray.plist" 644 <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>spec-kitty-tray</string>
	<key>ProgramArguments</key>
	<array>
		<string>$bindir/spec-kitty-tray</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>LimitLoadToSessionType</key>
	<string>Aqua</string>
	<key>ProcessType</key>
	<string>Interactive</string>
${plist_env}</dict>
</plist>
EOF
		record tray-agent "$agents/spec-kitty-tray.plist"
	fi
fi

# save_manifest: merge the new records into the manifest (a reinstall keeps
# what an earlier install created), written before the service step so a
# failure there can still be undone.
save_manifest() {
	[ "$dry" = 1 ] && return 0
	{
		[ -f "$manifest" ] && cat "$manifest"
		cat "$records"
	} | awk '!seen[$0]++' >"$manifest.tmp.$$"
	mv -f "$manifest.tmp.$$" "$manifest"
}
save_manifest

if [ "$service" = 1 ]; then
	if [ "$dry" = 1 ]; then
		say "would run: $bindir/spec-kitty service install"
	else
		say "running: $bindir/spec-kitty service install"
		rc=0
		errlog=$(mktemp)
		"$bindir/spec-kitty" service install 2>"$errlog" || rc=$?
		cat "$errlog" >&2
		if [ "$rc" != 0 ]; then
			echo "$me: error: 'spec-kitty service install' failed (exit $rc): the binaries are installed, the service is not" >&2
			# Name the real cause: blaming the gate when systemd is missing
			# sends people the wrong way.
			if grep -q 'no systemd found' "$errlog"; then
				echo "$me: hint: no systemd found on this machine, so the service cannot be installed here; run '$bindir/spec-kitty sync run' to sync by hand" >&2
			elif grep -q 'unknown command "service"' "$errlog"; then
				echo "$me: hint: the service needs hosted sync enabled (SPEC_KITTY_ENABLE_SAAS_SYNC=1); set it and run '$bindir/spec-kitty service install'" >&2
			else
				echo "$me: hint: fix the error above and run '$bindir/spec-kitty service install'" >&2
			fi
			echo "$me: hint: to undo the install: sh '$sharedir/uninstall.sh'" >&2
			rm -f "$errlog"
			exit 1
		fi
		rm -f "$errlog"
		record service spec-kitty-sync
		save_manifest
	fi
fi

if [ "$dry" = 1 ]; then
	say "dry run: nothing was changed"
	exit 0
fi
say "spec-kitty is installed in $bindir"
case ":${PATH:-}:" in
*":$bindir:"*) ;;
*) say "note: $bindir is not on your PATH; add it, e.g. in ~/.profile: export PATH=\"$bindir:\$PATH\"" ;;
esac
say "to undo: sh '$sharedir/uninstall.sh'"
