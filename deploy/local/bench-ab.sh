#!/usr/bin/env bash
# Compares two huitong binaries on the same bench, fairly, on a noisy machine.
#
#   deploy/local/bench-ab.sh [--rounds N] BINARY_A BINARY_B [BENCH OPTIONS...]
#   e.g. deploy/local/bench-ab.sh --rounds 3 /tmp/huitong-old .build-release/release/huitong \
#            --workload payments --taps off -n 10000
#
# On two shared cores a single run moves ±15 %, and the machine drifts over minutes: comparing a run of A now with
# a run of B later measures the drift. This runs A and B alternately (A B, then B A, …), each on a fresh vhost and
# database of its own (servers.sh scratch ab_a / ab_b, recreated before every run), with BINARY_B as the bench
# driver and `--binary` naming whose roles run, so the driver and its checks are the same for both. It prints one
# line per run and the median per binary of throughput, the hub roles' CPU per message (the figure that moves least
# with the noise), the broker's and database's, and end-to-end p50 / p99; the JSON of every run stays in
# .local/bench/ab-*.json.
#
# Needs the local servers up (deploy/local/servers.sh up) and python3. Never run two benches at once.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
die() { echo "bench-ab.sh: $*" >&2; exit 1; }

rounds=3
if [ "${1:-}" = "--rounds" ]; then
    [[ "${2:-}" =~ ^[1-9][0-9]?$ ]] || die "--rounds needs a number from 1 to 99"
    rounds="$2"
    shift 2
fi
[ $# -ge 2 ] || die "usage: deploy/local/bench-ab.sh [--rounds N] BINARY_A BINARY_B [BENCH OPTIONS...]"
binary_a="$(realpath "$1")" || die "no binary at $1"
binary_b="$(realpath "$2")" || die "no binary at $2"
shift 2
[ -x "$binary_a" ] && [ -x "$binary_b" ] || die "both binaries must be executable"
command -v python3 >/dev/null || die "python3 is needed to read the runs' JSON"

out="$ROOT/.local/bench"
mkdir -p "$out"
stamp="$(date -u +%Y%m%dT%H%M%SZ)"
results=()
for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) -eq 1 ]; then order="a b"; else order="b a"; fi
    for side in $order; do
        if [ "$side" = a ]; then binary="$binary_a"; else binary="$binary_b"; fi
        eval "$("$ROOT/deploy/local/servers.sh" scratch "ab_$side")"
        file="$out/ab-$stamp-r$round-$side.json"
        echo "round $round, $side: $binary" >&2
        if ! "$binary_b" bench --json --binary "$binary" "$@" >"$file" 2>"$file.log"; then
            die "round $round, $side failed: see $file.log"
        fi
        results+=("$side=$file")
    done
done

python3 - "${results[@]}" <<'EOF'
import json, statistics, sys

runs = {"a": [], "b": []}
for argument in sys.argv[1:]:
    side, path = argument.split("=", 1)
    run = json.load(open(path))
    unique = run["unique"] or 1
    row = {"msg/s": run["throughputPerSecond"]}
    roles = sum(p["cpuSeconds"] for p in run["processes"] if p["name"].startswith("serve"))
    row["roles ms/msg"] = roles * 1000 / unique
    for p in run["processes"]:
        if p["name"].startswith("broker"):
            row["broker ms/msg"] = p["cpuSeconds"] * 1000 / unique
        if p["name"].startswith("database"):
            row["db ms/msg"] = p["cpuSeconds"] * 1000 / unique
    end_to_end = [h["latency"] for h in run["hops"] if h["name"] == "end to end"]
    if end_to_end:
        row["p50 ms"] = end_to_end[0]["p50"]
        row["p99 ms"] = end_to_end[0]["p99"]
    if run.get("ceiling"):
        row["% relay"] = 100 * run["ceiling"]["hubShareOfRelay"]
    if not run["verification"].get("passed", True):
        row["FAILED"] = 1
    runs[side].append(row)
    print(side, "  ".join(f"{k} {v:.2f}" for k, v in row.items()), path)

print()
columns = list(runs["a"][0].keys())
print("median".ljust(8) + "".join(c.rjust(15) for c in columns))
for side in "ab":
    print(side.ljust(8) + "".join(f"{statistics.median(r[c] for r in runs[side] if c in r):15.2f}" for c in columns))
EOF
