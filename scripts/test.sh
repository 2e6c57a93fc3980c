#!/usr/bin/env bash
# Runs every test: the Rust core's native tests (when Debian's Rust toolchain is installed) and the
# TypeScript tests with vitest. Ends with one plain summary line: "tests: N passed, N failed".
set -uo pipefail
root=$(CDPATH= cd -- "$(dirname -- "$0")/.." && pwd)
cd "$root"
mkdir -p .checkrd-tmp
rust_passed=0 rust_failed=0 status=0

if [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && [ -d /usr/share/cargo/registry/regex-1.7.1 ]; then
  echo "== core: cargo test (native, $(/usr/bin/rustc --version))"
  if (cd core && RUSTC=/usr/bin/rustc /usr/bin/cargo test --release --quiet 2>&1) | tee .checkrd-tmp/cargo.log; then :; else status=1; fi
  rust_passed=$(grep -Eo '[0-9]+ passed' .checkrd-tmp/cargo.log | awk '{s+=$1} END {print s+0}')
  rust_failed=$(grep -Eo '[0-9]+ failed' .checkrd-tmp/cargo.log | awk '{s+=$1} END {print s+0}')
else
  echo "== core: cargo test skipped: Debian's Rust toolchain is not installed (see core/README.md)"
fi

# The out-of-process app tests run on Node 22 as well as on the Node running the tests.
if [ -z "${CHECKRD_NODE22_BIN:-}" ]; then
  . scripts/node-env.sh
  if node22_dir=$(checkrd_fetch_node "$CHECKRD_NODE22_VERSION"); then
    export CHECKRD_NODE22_BIN="$node22_dir/bin/node"
  fi
fi

echo "== type-check the tests (tsconfig.test.json)"
npx --no-install tsc -p tsconfig.test.json || status=1

echo "== vitest"
npx --no-install vitest run --reporter=default --reporter=json --outputFile.json=.checkrd-tmp/vitest.json "$@" || status=1
read -r ts_passed ts_failed < <(node -e '
  try { const r = require(process.argv[1]); console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0)); }
  catch { console.log(0, 1); }' "$root/.checkrd-tmp/vitest.json")
echo
echo "tests: $((rust_passed + ts_passed)) passed, $((rust_failed + ts_failed)) failed"
exit $status
