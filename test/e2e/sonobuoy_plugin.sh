#!/usr/bin/env bash
# sonobuoy_plugin.sh - manifests/sonobuoy/plugin.yaml checked offline, as the
# other manifests are: it parses, has the Sonobuoy plugin fields conform needs
# (driver Job, result-format junit, a container running `conform run
# --sonobuoy` with the results volume at /tmp/sonobuoy/results; checked by
# test/lib/sonobuoy_plugin.py, which must refuse broken variants), and this
# build's `conform run` accepts its args. The kubernetes platform and the
# linkerd mesh may not be built in yet: then the one refusal allowed is
# exactly "not built into this conform yet". A plugin run that fails before
# it starts still leaves Sonobuoy a result: junit.xml with an <error> and the
# done file naming its tarball.
source "$(dirname "$0")/../lib/e2e.sh"

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PLUGIN=$ROOT/manifests/sonobuoy/plugin.yaml
CHECK="$PY $ROOT/test/lib/sonobuoy_plugin.py"

note "the plugin definition"
$CHECK "$PLUGIN" >"$E2E_TMP/argv" 2>"$E2E_TMP/err" || fail "plugin.yaml refused: $(cat "$E2E_TMP/err")"
mapfile -t argv <"$E2E_TMP/argv"
[ "${argv[0]}" = conform ] && [ "${argv[1]}" = run ] || fail "plugin runs ${argv[*]}"

note "broken plugins are refused, naming the field"
# variant NAME PYTHON WANT: plugin.yaml changed by PYTHON (d = the document)
variant() {
	$PY - "$PLUGIN" "$E2E_TMP/$1.yaml" "$2" <<'PYEOF' || fail "cannot make variant $1"
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
exec(sys.argv[3])
yaml.safe_dump(d, open(sys.argv[2], "w"))
PYEOF
	if $CHECK "$E2E_TMP/$1.yaml" >/dev/null 2>"$E2E_TMP/$1.err"; then
		fail "variant $1 was accepted"
	fi
	grep -qF -- "$3" "$E2E_TMP/$1.err" || fail "variant $1: want '$3', got '$(cat "$E2E_TMP/$1.err")'"
}
variant no-format 'del d["sonobuoy-config"]["result-format"]' \
	"sonobuoy-config.result-format: missing"
variant daemonset 'd["sonobuoy-config"]["driver"] = "DaemonSet"' \
	"sonobuoy-config.driver: conform is one run per cluster: expected Job"
variant driver 'd["sonobuoy-config"]["driver"] = "Deployment"' \
	"sonobuoy-config.driver: expected Job or DaemonSet"
variant gojson 'd["sonobuoy-config"]["result-format"] = "gojson"' \
	"sonobuoy-config.result-format: conform's result is junit.xml"
variant format-typo 'd["sonobuoy-config"]["result-fromat"] = "junit"' \
	"sonobuoy-config.result-fromat: unknown field"
variant no-results 'd["spec"]["volumeMounts"] = [m for m in d["spec"]["volumeMounts"] if m["name"] != "results"]' \
	"spec.volumeMounts: expected the volume results mounted at /tmp/sonobuoy/results"
variant no-volume 'd["extra-volumes"] = []' \
	"spec.volumeMounts[1].name: 'conform-state' is not a volume of the pod"
variant no-sonobuoy 'd["spec"]["args"].remove("--sonobuoy")' "spec.args: needs --sonobuoy"
variant no-image 'del d["spec"]["image"]' "spec.image: missing"
printf 'sonobuoy-config: [\n' >"$E2E_TMP/syntax.yaml"
$CHECK "$E2E_TMP/syntax.yaml" >/dev/null 2>&1 && fail "a YAML syntax error was accepted"

note "conform run takes the plugin's args"
# a state directory that cannot exist: every flag is parsed and the run is
# refused by the environment (exit 3) before anything starts
touch "$E2E_TMP/file"
bad_state=$E2E_TMP/file/state
# run_plugin DIR ARGS...: the plugin's command with SONOBUOY_RESULTS_DIR=DIR
run_plugin() {
	local dir=$1
	shift
	SONOBUOY_RESULTS_DIR=$dir CONFORM_STATE_DIR=$bad_state "$CONFORM" "$@" \
		>"$E2E_TMP/out" 2>"$E2E_TMP/err"
}
# the error result Sonobuoy gets instead of waiting for done
error_result() {
	local dir=$1 why=$2
	[ -s "$dir/done" ] || fail "no done file in $dir after a failed start"
	[ "$(cat "$dir/done")" = "$dir/results.tar.gz" ] || fail "done names '$(cat "$dir/done")'"
	[ "$(tar -tzf "$dir/results.tar.gz")" = junit.xml ] || fail "results.tar.gz of a failed start"
	xmllint --noout "$dir/junit.xml" || fail "error junit.xml is not XML"
	$PY - "$dir/junit.xml" "$why" <<'PYEOF' || fail "error junit.xml"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.get("errors") == "1" and root.get("failures") == "0", root.attrib
(err,) = root.iter("error")
assert sys.argv[2] in err.get("message"), (err.get("message"), sys.argv[2])
PYEOF
}

run_plugin "$E2E_TMP/res-verbatim" "${argv[@]:1}"
rc=$?
case $rc in
3)	note "the kubernetes platform and linkerd mesh are built in: args accepted"
	# what fails first: the cluster (no kubeconfig, unreachable), else the state dir
	why="cannot create"
	for w in "no kubeconfig" "cluster unreachable"; do
		grep -q "$w" "$E2E_TMP/err" && why=$w
	done
	error_result "$E2E_TMP/res-verbatim" "$why" ;;
2)	first=$(head -n 1 "$E2E_TMP/err")
	case "$first" in
	"conform: --platform kubernetes: not built into this conform yet" | \
	"conform: --mesh linkerd: not built into this conform yet") ;;
	*) fail "the plugin's args were refused: $(cat "$E2E_TMP/err")" ;;
	esac
	note "refused as not built in yet: $first"
	error_result "$E2E_TMP/res-verbatim" "not built into this conform yet" ;;
*)	fail "conform ${argv[*]:1} exited $rc: $(cat "$E2E_TMP/err")" ;;
esac

# every other arg as this build has it: only the platform and mesh swapped
local_args=()
for ((i = 1; i < ${#argv[@]}; i++)); do
	case "${argv[i]}" in
	--platform) local_args+=(--platform local); i=$((i + 1)) ;;
	--mesh) local_args+=(--mesh none); i=$((i + 1)) ;;
	*) local_args+=("${argv[i]}") ;;
	esac
done
run_plugin "$E2E_TMP/res-local" "${local_args[@]}"
rc=$?
[ $rc -eq 3 ] || fail "conform ${local_args[*]} exited $rc, want 3 (refused only for the state dir): $(cat "$E2E_TMP/err")"
grep -q "cannot create $bad_state" "$E2E_TMP/err" || fail "unexpected refusal: $(cat "$E2E_TMP/err")"
[ ! -e "$bad_state" ] || fail "a run was started"
error_result "$E2E_TMP/res-local" "cannot create $bad_state"

# a mistyped flag is a usage error, and the plugin still ends with a result
run_plugin "$E2E_TMP/res-typo" run --sonobuoy --duraton 30m
[ $? -eq 2 ] || fail "a mistyped flag should exit 2"
error_result "$E2E_TMP/res-typo" "--duraton"
echo "ok"
