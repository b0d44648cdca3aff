#!/bin/sh
# Runs the imgdigest Kubernetes commands straight from src/ (through tsx), so tests that need an
# executable (kpt fn eval --exec) never depend on a stale dist/.
root=$(cd "$(dirname "$0")/../../.." && pwd)
exec node --import "$root/node_modules/tsx/dist/loader.mjs" "$root/test/support/cli.ts" "$@"
