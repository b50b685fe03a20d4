#!/bin/bash
# prometheus_rules.sh - the shipped Prometheus configuration, rules and alert unit tests pass
# Prometheus's own checker: the rules parse, the leak alert fires on a steady leak and not on a
# restart or a flapping group, the OOM, near-limit and down alerts fire on their series.
set -u
root="$(cd "$(dirname "$0")/../.." && pwd)"
if ! command -v promtool >/dev/null; then
    echo "skipped, because promtool is not installed (Debian's prometheus package: scripts/deps.sh --test)"
    exit 77
fi
rc=0
promtool check rules "$root/docker/prometheus/memscope.rules.yml" || rc=1
(cd "$root/docker/prometheus" && promtool test rules memscope.rules.test.yml) || rc=1
exit $rc
