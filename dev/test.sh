#!/usr/bin/env sh
# `npm test`: type-check, lint, then every vitest project (unit, then integration against a real
# broker that the global setup starts when KAFKA_BROKERS is not set). Fails on the first failure.
set -eu
echo "== typecheck" && tsc --noEmit -p .
echo "== lint" && eslint .
echo "== tests" && vitest run "$@"
