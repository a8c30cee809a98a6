#!/usr/bin/env bash
# The whole suite: build, type-check (tests included), lint, then every test file under test/.
# Tests that need redis-server, postgres or chromium start them from the system's binaries; outside
# CI a missing binary is reported and those tests are skipped, in CI (CI=true) it is a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build
npx tsc -p tsconfig.json --noEmit
npx biome check .
mapfile -t files < <(find test -name '*.test.ts' | sort)
node --import tsx --import ./test/support/strict-process.ts --test --test-concurrency=2 --test-timeout=600000 --test-reporter=spec "${files[@]}"
