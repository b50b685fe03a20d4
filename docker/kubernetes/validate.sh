#!/bin/bash
# validate.sh - offline checks of the deployment files: the Kubernetes manifests against the API's
# schemas and field names (validate.mjs), and prometheus.yml with promtool.
#
# Needs node and npm (Debian's nodejs/npm or any node >= 20) and promtool (Debian's prometheus).
# The four npm packages are installed once into $MEMSCOPE_CI_CACHE/k8s-validate (default
# /var/cache/memscope-ci), pinned by major version.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mods=${MEMSCOPE_CI_CACHE:-/var/cache/memscope-ci}/k8s-validate
want="kubernetes-models@5 kubernetes-types@1.30 typescript@5 yaml@2"
if [ ! -f "$mods/.installed" ] || [ "$(cat "$mods/.installed")" != "$want" ]; then
    mkdir -p "$mods"
    # shellcheck disable=SC2086
    npm install --silent --no-audit --no-fund --prefix "$mods" $want >/dev/null
    echo "$want" > "$mods/.installed"
fi
rc=0
node "$here/validate.mjs" "$mods" "$here"/*.yaml || rc=1

# Debian's promtool is built without Kubernetes service discovery, so kubernetes_sd_configs is
# swapped for a static target and the credentials file pointed at a real one: what is checked is
# everything else (relabelling rules, regexes, authorization, intervals).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo token > "$tmp/token"
awk -v cred="$tmp/token" '
    /^    kubernetes_sd_configs:/ { print "    static_configs:\n      - targets: [\"127.0.0.1:8080\"]"; skip = 1; next }
    skip && /^      / { next }
    { skip = 0 }
    /credentials_file:/ { sub(/credentials_file: .*/, "credentials_file: " cred) }
    { print }' "$here/../prometheus.yml" > "$tmp/prometheus.yml"
# The rule files prometheus.yml names, beside it as promtool resolves them.
mkdir -p "$tmp/prometheus" && cp "$here/../prometheus/"*.yml "$tmp/prometheus/"
grep -q kubernetes_sd_configs "$here/../prometheus.yml" || { echo "FAIL prometheus.yml: no kubernetes_sd_configs"; rc=1; }
if promtool check config "$tmp/prometheus.yml" >"$tmp/out" 2>&1; then
    echo "ok   prometheus.yml (promtool check config, kubernetes_sd swapped for a static target)"
else
    echo "FAIL prometheus.yml:"; cat "$tmp/out"; rc=1
fi
exit $rc
