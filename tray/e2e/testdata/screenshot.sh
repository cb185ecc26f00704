#!/bin/sh
# Takes docs/tray-ready.png and docs/tray-manual.png: spec-kitty-tray in a
# real StatusNotifierItem host (gtk-sni-tray-standalone) on Xvfb, on a private
# D-Bus session, with a fake daemon state (a sleeping process's PID) so the
# ready look shows (and none for manual mode); each picture has the menu open. Needs: apt-get install -y xvfb haskell-gtk-sni-tray-utils
# x11-apps imagemagick xdotool. Run from the repository root.
set -eu
out=${1:-docs}
work=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/spec-kitty-tray" ./tray/cmd/spec-kitty-tray

Xvfb :97 -screen 0 420x260x24 -nolisten tcp >/dev/null 2>&1 & pids="$pids $!"
export DISPLAY=:97
cat >"$work/bus.conf" <<CONF
<busconfig><type>session</type><listen>unix:path=$work/bus</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>
CONF
dbus-daemon --config-file="$work/bus.conf" --nofork --nopidfile >/dev/null 2>&1 & pids="$pids $!"
export DBUS_SESSION_BUS_ADDRESS="unix:path=$work/bus"
sleep 1
gtk-sni-tray-standalone --top --watcher --size 48 --color '#2b2b2b' >/dev/null 2>&1 & pids="$pids $!"
sleep 2

home="$work/home"; mkdir -m 700 "$home"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
later=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
cat >"$home/auth.json" <<JSON
{"host":"https://sync.example.com","user_id":"u1","email":"dev@example.com","name":"Dev","teams":[],
 "default_team_id":"","access_token":"a","refresh_token":"r","session_id":"s","issued_at":"$now",
 "access_token_expires_at":"$later","auth_method":"device"}
JSON
sleep 600 & daemon=$!; pids="$pids $daemon"
synced=$(date -u -d '-2 min' +%Y-%m-%dT%H:%M:%SZ)
printf '{"pid":%d,"policy":"auto","last_sync_at":"%s","queue_depth":0}\n' "$daemon" "$synced" >"$home/sync-daemon"

shot() { # look
	SPEC_KITTY_ENABLE_SAAS_SYNC=1 SPEC_KITTY_HOME="$home" SPEC_KITTY_SAAS_URL=https://sync.example.com \
		"$work/spec-kitty-tray" 2>"$work/tray.log" & tray=$!
	sleep 3
	xdotool mousemove 24 24 click 1
	sleep 1
	xwd -root -silent | convert xwd:- "$out/tray-$1.png"
	kill "$tray"; wait "$tray" || true
}
printf '[sync]\nbackground_daemon = "auto"\n' >"$home/config.toml"
shot ready
# Manual mode: no daemon runs.
rm "$home/sync-daemon"
printf '[sync]\nbackground_daemon = "manual"\n' >"$home/config.toml"
shot manual
echo "wrote $out/tray-ready.png $out/tray-manual.png"
