#!/usr/bin/env sh
# `npm test`: type-check, lint, the unit project (no broker), then the integration project (real
# broker that the global setup starts when KAFKA_BROKERS is not set). Fails on the first failure.
# The projects run one after the other: unit failures show at once, and the failover tests do not
# share the 2 cores with hundreds of unit tests.
set -eu
echo "== typecheck" && tsc --noEmit -p .
echo "== lint" && eslint . && prettier --check --log-level warn "**/*.{ts,tsx,js}"
echo "== schemas" && node dev/schemas/main.ts --check
echo "== unit tests" && vitest run --project unit "$@"
echo "== integration tests" && vitest run --project integration "$@"
