#!/usr/bin/env bash
# The baseline: without a mesh, every mesh check fails and says that no mesh
# provides its promise, while the spine checks still pass; the run exits 1.
source "$(dirname "$0")/../lib/e2e.sh"

"$CONFORM" run --duration 8s --window 4s --mesh none
rc=$?
d=$(run_dir)
[ $rc -eq 1 ] || fail "conform run --mesh none exited $rc, want 1"
check_reports "$d"
$PY - "$d/reports/report.json" <<'PYEOF' || fail "mesh none verdicts"
import json, sys
r = json.load(open(sys.argv[1]))
spine = {"http.basic", "grpc.basic", "grpc.stream"}
mesh = [c for c in r["checks"] if c["id"] not in spine]
assert len(mesh) >= 8, [c["id"] for c in mesh]
for c in r["checks"]:
    print(f'{c["id"]}: {c["verdict"]}: {c["reason"]}')
    if c["id"] in spine:
        assert c["verdict"] == "pass", c
    else:
        assert c["verdict"] == "fail", c
        assert "no mesh provides" in c["reason"], c
PYEOF
echo "ok"
