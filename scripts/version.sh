#!/bin/sh
# version.sh - print the release version of the checkout, a semantic version
# that dpkg, rpm (through nfpm), Homebrew, Scoop and winget all accept.
#
#   HEAD tagged vX.Y.Z             X.Y.Z
#   N commits after tag vX.Y.Z     X.Y.Z+N.g<sha>   (sorts after X.Y.Z)
#   no tag                         0.0.0-dev.<yyyymmdd>.<commits>+g<sha>
#   no git at all                  0.0.0-dev.0
# A modified work tree adds ".dirty" to the build metadata. The date is the
# commit's (UTC), so the same commit always gets the same version.
set -eu
cd "$(dirname "$0")/.."

if ! sha=$(git rev-parse --short=12 HEAD 2>/dev/null); then
	echo 0.0.0-dev.0
	exit 0
fi
dirty=
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	dirty=.dirty
fi
if desc=$(git describe --tags --long --match 'v[0-9]*.[0-9]*.[0-9]*' 2>/dev/null); then
	# vX.Y.Z[-pre]-N-gSHA
	rest=${desc%-*}
	n=${rest##*-}
	tag=${rest%-*}
	v=${tag#v}
	if [ "$n" = 0 ] && [ -z "$dirty" ]; then
		echo "$v"
	elif [ "$n" = 0 ]; then
		echo "$v+g$sha$dirty"
	else
		echo "$v+$n.g$sha$dirty"
	fi
	exit 0
fi
day=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d)
count=$(git rev-list --count HEAD)
echo "0.0.0-dev.$day.$count+g$sha$dirty"
