#!/usr/bin/env bash
# Makes sure the tools the tests drive for real are installed: Chromium (the
# dashboard's browser test), dbus-daemon (tray), strace (no-network proofs),
# systemd-analyze (unit verification), sqlite3, dpkg-deb, rpm (package
# metadata), man and groff (man pages), zip (release archives), zsh and fish
# (completion scripts). As root it installs
# what is missing with apt-get; otherwise it names what is missing and fails
# under CI=true (tests fail rather than skip there).
set -euo pipefail

need=()
have() { command -v "$1" >/dev/null 2>&1; }
have chromium || need+=(chromium)
have dbus-daemon || need+=(dbus-daemon)
have strace || need+=(strace)
have systemd-analyze || need+=(systemd)
have sqlite3 || need+=(sqlite3)
have dpkg-deb || need+=(dpkg)
have xvfb-run || need+=(xvfb)
have rpm || need+=(rpm)
have man || need+=(man-db)
have groff || need+=(groff-base)
have zip || need+=(zip)
have zsh || need+=(zsh)
have fish || need+=(fish)

if [ ${#need[@]} -eq 0 ]; then
  echo "test tools: all present"
  exit 0
fi

pkgs=()
for n in "${need[@]}"; do
  case "$n" in
    dbus-daemon) pkgs+=(dbus) ;;
    *) pkgs+=("$n") ;;
  esac
done

if [ "$(id -u)" = 0 ] && have apt-get; then
  echo "test tools: installing ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  echo "test tools: installed ${pkgs[*]}"
  exit 0
fi

echo "test tools: missing ${need[*]}; install them with: sudo apt-get install -y ${pkgs[*]}" >&2
if [ "${CI:-}" = true ]; then
  exit 1
fi
