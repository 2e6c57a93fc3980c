# Sourced by ./run and .ci/run. Puts a Node >= 22 first on PATH.
# These machines ship Node 20 (end of life); checkrd targets Node >= 22. When the Node on PATH is older,
# the official Node 24 binary is taken from the npm registry's node-linux-<arch> package (the only
# registry reachable here), verified by npm against the registry's integrity hash, and kept in .node/.
CHECKRD_NODE_VERSION=24.21.0
_checkrd_root=$(CDPATH= cd -- "$(dirname -- "${BASH_SOURCE:-$0}")/.." && pwd)

_checkrd_node_major() {
  node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0
}

if [ "$(_checkrd_node_major)" -lt 22 ]; then
  case "$(uname -m)" in
    x86_64|amd64) _checkrd_arch=x64 ;;
    aarch64|arm64) _checkrd_arch=arm64 ;;
    *) echo "checkrd: no Node 24 package for $(uname -m); install Node >= 22 yourself" >&2; return 1 ;;
  esac
  _checkrd_node_dir="$_checkrd_root/.node/node-v$CHECKRD_NODE_VERSION-linux-$_checkrd_arch"
  if [ ! -x "$_checkrd_node_dir/bin/node" ]; then
    echo "checkrd: Node $(node --version 2>/dev/null || echo '(none)') is too old; fetching node-linux-$_checkrd_arch@$CHECKRD_NODE_VERSION from the npm registry" >&2
    _checkrd_tmp=$(mktemp -d)
    # npm pack checks the tarball against the registry's sha512 integrity before writing it.
    (cd "$_checkrd_tmp" && npm pack --silent "node-linux-$_checkrd_arch@$CHECKRD_NODE_VERSION" >/dev/null) || {
      echo "checkrd: could not fetch Node $CHECKRD_NODE_VERSION" >&2; rm -rf "$_checkrd_tmp"; return 1; }
    mkdir -p "$_checkrd_node_dir.partial"
    tar xzf "$_checkrd_tmp"/node-linux-*.tgz -C "$_checkrd_node_dir.partial" --strip-components=1
    rm -rf "$_checkrd_tmp" "$_checkrd_node_dir"
    mv "$_checkrd_node_dir.partial" "$_checkrd_node_dir"
  fi
  PATH="$_checkrd_node_dir/bin:$PATH"
  export PATH
  # Native addons must build against this Node's headers, not the system Node's.
  npm_config_nodedir="$_checkrd_node_dir"
  export npm_config_nodedir
fi
