#!/usr/bin/env bash
# Validation benchmark: cnadesk vs Python jsonschema (format checks on) and,
# when it can be installed, ajv, on the same corpus, in one run.
# usage: bench/validate.sh [COUNT]   (default 2000 records)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-2000}
data=crates/cnadesk-cve/tests/data
work=$(mktemp -d /tmp/cnadesk-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
schema=crates/cnadesk-cve/schemas/5.1.1/CVE_JSON_bundled_5.1.1.json

python3 bench/make_corpus.py "$data" "$work/corpus" "$count"

echo "building cnadesk (release)…"
cargo build --release -q -p cnadesk-cve --example throughput
cargo build --release -q -p cnadesk --bin cnadesk

echo "installing Python jsonschema (with format checkers)…"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q "jsonschema[format-nongpl]"

rust=$(target/release/examples/throughput "$work/corpus")
python=$("$work/venv/bin/python" bench/py_validate.py "$schema" "$work/corpus")

ajv=""
if command -v npm >/dev/null && (cd "$work" && npm install -q --no-audit --no-fund ajv ajv-formats >/dev/null 2>&1); then
  ajv=$(NODE_PATH="$work/node_modules" node bench/ajv_validate.js "$schema" "$work/corpus")
fi

python3 - "$rust" "$python" "$ajv" "$work/corpus" <<'PY'
import glob, json, subprocess, sys, time
rust, py = json.loads(sys.argv[1]), json.loads(sys.argv[2])
ajv = json.loads(sys.argv[3]) if sys.argv[3] else None
# End to end: the CLI on every file (process start, schema compile, file reading, report).
files = sorted(glob.glob(sys.argv[4] + "/*.json"))
start = time.perf_counter()
subprocess.run(["target/release/cnadesk", "record", "validate", "--format", "json", *files], stdout=subprocess.DEVNULL)
cli = time.perf_counter() - start
assert rust["invalid"] == py["invalid"], ("verdicts differ", rust, py)
print(f"corpus: {rust['records']} records ({rust['invalid']} invalid; both validators agree)")
print(f"cnadesk (in process)     {rust['per_second']:>10.0f} records/s")
print(f"cnadesk CLI (end to end) {rust['records']/cli:>10.0f} records/s  ({cli:.3f} s incl. start-up and file reading)")
print(f"Python jsonschema        {py['per_second']:>10.0f} records/s")
if ajv:
    print(f"ajv (node)               {ajv['per_second']:>10.0f} records/s")
print(f"ratio cnadesk / Python jsonschema: {rust['per_second']/py['per_second']:.0f}x (target: at least 100x)")
print(f"ratio CLI end to end / Python:     {(rust['records']/cli)/py['per_second']:.0f}x")
if ajv:
    print(f"ratio cnadesk / ajv:               {rust['per_second']/ajv['per_second']:.2f}x")
else:
    print("ajv: not measured (npm could not install ajv here)")
PY
