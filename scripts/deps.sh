#!/bin/sh
# Installs the Debian packages foyer needs that are not installed yet.
#   scripts/deps.sh run     to build and run the server
#   scripts/deps.sh test    the same, plus what the test suites need
set -eu

RUN_PKGS="build-essential pkg-config libevent-dev libinih-dev libssl-dev
libfcgi-dev media-types curl php8.2-fpm"
TEST_PKGS="$RUN_PKGS libcmocka-dev python3-pytest python3-requests
prometheus-apache-exporter slowhttptest wordpress
wordpress-theme-twentytwentythree mariadb-server"

case "${1:-}" in
run) wanted=$RUN_PKGS ;;
test) wanted=$TEST_PKGS ;;
*)
	echo "usage: $0 run|test" >&2
	exit 2
	;;
esac

missing=""
for pkg in $wanted; do
	status=$(dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null || true)
	[ "$status" = installed ] || missing="$missing $pkg"
done

if [ -z "$missing" ]; then
	echo "deps ($1): all installed"
	exit 0
fi

as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
echo "deps ($1): installing$missing"
$as_root apt-get update -q
# shellcheck disable=SC2086 # one word per package
$as_root env DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends $missing
