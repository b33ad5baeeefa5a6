#!/bin/sh
# Serves the demo site (demo/www) on http://127.0.0.1:8080/ in the
# foreground with the given foyer binary. Ctrl-C stops it.
#   scripts/demo.sh build/foyer
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 BINARY" >&2
	exit 2
fi
bin=$(realpath "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
dir="$top/build/demo"
mkdir -p "$dir"

cat >"$dir/foyer.ini" <<INI
; written by scripts/demo.sh
[server]
listen = 127.0.0.1:8080
error_log = stderr
log_level = info
pid_file = $dir/foyer.pid

user = $(id -un)
group = $(id -gn)

; PHP-FPM started and watched by foyer, its socket next to the pid file
[pool demo]
spawn = php-fpm8.2
spawn_children = 2

[site demo]
server_name = localhost 127.0.0.1
document_root = $top/demo/www
index = index.php index.html
php = fpm:demo
access_log = $dir/access.log
INI

echo "foyer demo: http://127.0.0.1:8080/ (access log: $dir/access.log)"
exec "$bin" -X -f "$dir/foyer.ini"
