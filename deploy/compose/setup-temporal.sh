#!/bin/sh
# Waits for the Temporal frontend, then creates the namespace and registers ferry's search
# attributes (the list in src/workflows/search-attributes.ts; `ferry setup` does the same).
# Idempotent (admin-tools image, job temporal-setup).
set -eu
: "${TEMPORAL_ADDRESS:?}"
NAMESPACE="${FERRY_NAMESPACE:-default}"
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  echo "waiting for Temporal at $TEMPORAL_ADDRESS"; sleep 2
done
temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" >/dev/null 2>&1 ||
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" --retention 30d -n "$NAMESPACE"
for name in FerryWorkload FerryRuntime FerrySource FerryDestination FerryPhase FerryOutcome; do
  temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$NAMESPACE" \
    --name "$name" --type Keyword 2>/dev/null || echo "search attribute $name already registered"
done
echo "namespace $NAMESPACE ready with ferry's search attributes"
