#!/usr/bin/env bash
# Install the production dependencies (package-lock.json, no dev dependencies, no install
# scripts) into CONTEXT/.image/node_modules, where the Containerfile copies them from.
#
#   deploy/image/stage-modules.sh [CONTEXT]     (default: the repository; `npm run image:modules`)
#
# npm runs here, on the build host, so the image build itself is COPY only.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
context=${1:-$repo}
stage="$context/.image"
rm -rf "$stage"
mkdir -p "$stage"
cp "$repo/package.json" "$repo/package-lock.json" "$stage/"
cd "$stage"
npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
rm -f package.json package-lock.json
