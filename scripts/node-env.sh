# Sourced by ./run and .ci/run. Puts a Node >= 22 first on PATH.
# These machines ship Node 20 (end of life); checkrd targets Node >= 22. When the Node on PATH is older,
# the official Node 24 binary is taken from the npm registry's node-linux-<arch> package (the only
# registry reachable here), verified by npm against the registry's integrity hash, and kept in .node/.
CHECKRD_NODE_VERSION=24.21.0
# The other supported major, used by the tests that run apps out of process on both.
CHECKRD_NODE22_VERSION=22.23.3
_checkrd_root=$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE:-$0}")/.." && pwd)

_checkrd_node_major() {
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

# checkrd_fetch_node VERSION: prints the directory of that Node release, fetching it once into .node/.
checkrd_fetch_node() {
  local version=$1 arch dir tmp
  case "$(uname -m)" in
    x86_64|amd64) arch=x64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) echo "checkrd: no Node package for $(uname -m); install Node >= 22 yourself" >&2; return 1 ;;
  esac
  dir="$_checkrd_root/.node/node-v$version-linux-$arch"
  if [ ! -x "$dir/bin/node" ]; then
    echo "checkrd: fetching node-linux-$arch@$version from the npm registry" >&2
    tmp=$(mktemp -d)
    # npm pack checks the tarball against the registry's sha512 integrity before writing it.
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$version" >/dev/null) || {
      echo "checkrd: could not fetch Node $version" >&2; rm -rf "$tmp"; return 1; }
    mkdir -p "$dir.partial"
    tar xzf "$tmp"/node-linux-*.tgz -C "$dir.partial" --strip-components=1
    rm -rf "$tmp" "$dir"
    mv "$dir.partial" "$dir"
  fi
  echo "$dir"
}

if [ "$(_checkrd_node_major)" -lt 22 ]; then
  echo "checkrd: Node $(node --version 2>/dev/null || echo '(none)') is older than 22; using Node $CHECKRD_NODE_VERSION" >&2
  _checkrd_node_dir=$(checkrd_fetch_node "$CHECKRD_NODE_VERSION") || return 1
  PATH="$_checkrd_node_dir/bin:$PATH"
  export PATH
  # Native addons must build against this Node's headers, not the system Node's.
  npm_config_nodedir="$_checkrd_node_dir"
  export npm_config_nodedir
fi
