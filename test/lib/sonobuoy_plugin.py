#!/usr/bin/env python3
# sonobuoy_plugin.py PLUGIN.yaml - check a Sonobuoy plugin definition offline,
# the way `sonobuoy run --plugin` would read it, plus what conform needs of it.
# On success prints the container's command and args, one per line; else
# prints "PLUGIN.yaml: field: what is wrong" and exits 1.
#
# The format (vmware-tanzu/sonobuoy):
#   pkg/plugin/manifest/manifest.go  Manifest {sonobuoy-config, spec (a core/v1
#       Container), extra-volumes}; SonobuoyConfig {driver: Job or DaemonSet,
#       plugin-name, ...}
#   site/content/docs/main/plugins.md  result-format junit, gojson, raw or manual;
#       the plugin writes its result path into <results dir>/done
#   pkg/plugin/constants.go  results dir default /tmp/sonobuoy/results
#   pkg/plugin/driver/job/template.go  the driver adds the volume "results"
# (summarised in the project notes on Linkerd, section 5).
import re
import sys

import yaml

RESULTS_DIR = "/tmp/sonobuoy/results"
CONFIG_KEYS = {"driver", "plugin-name", "result-format", "result-files", "skip-cleanup",
               "description", "source-url", "result-type"}
TOP_KEYS = {"sonobuoy-config", "spec", "extra-volumes", "podSpec", "config-map"}
FORMATS = {"junit", "gojson", "raw", "manual"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class Bad(Exception):
    pass


def need(cond, field, what):
    if not cond:
        raise Bad("%s: %s" % (field, what))


def str_list(v):
    return isinstance(v, list) and all(isinstance(x, str) and x for x in v)


def check(doc):
    need(isinstance(doc, dict), "(top)", "expected a mapping")
    for k in doc:
        need(k in TOP_KEYS, k, "unknown field (expected one of %s)" % ", ".join(sorted(TOP_KEYS)))
    cfg = doc.get("sonobuoy-config")
    need(isinstance(cfg, dict), "sonobuoy-config", "missing or not a mapping")
    for k in cfg:
        need(k in CONFIG_KEYS, "sonobuoy-config." + k, "unknown field")
    drv = cfg.get("driver")
    need(drv in ("Job", "DaemonSet"), "sonobuoy-config.driver",
         "expected Job or DaemonSet, got %r" % (drv,))
    need(drv == "Job", "sonobuoy-config.driver",
         "conform is one run per cluster: expected Job, got %r" % (drv,))
    name = cfg.get("plugin-name")
    need(isinstance(name, str) and DNS_LABEL.match(name or ""), "sonobuoy-config.plugin-name",
         "expected a DNS label, got %r" % (name,))
    fmt = cfg.get("result-format")
    need(fmt is not None, "sonobuoy-config.result-format", "missing (conform writes junit)")
    need(fmt in FORMATS, "sonobuoy-config.result-format",
         "expected one of %s, got %r" % (", ".join(sorted(FORMATS)), fmt))
    need(fmt == "junit", "sonobuoy-config.result-format",
         "conform's result is junit.xml: expected junit, got %r" % (fmt,))

    spec = doc.get("spec")
    need(isinstance(spec, dict), "spec", "missing or not a mapping (a container)")
    need(isinstance(spec.get("name"), str) and spec["name"], "spec.name", "missing")
    need(isinstance(spec.get("image"), str) and spec["image"], "spec.image", "missing")
    cmd, args = spec.get("command"), spec.get("args", [])
    need(str_list(cmd), "spec.command", "expected a list of strings")
    need(str_list(args), "spec.args", "expected a list of strings")
    argv = cmd + args
    need(argv[0].rsplit("/", 1)[-1] == "conform", "spec.command",
         "expected conform, got %r" % argv[0])
    need(len(argv) > 1 and argv[1] == "run", "spec.args", "expected `run` first")
    need("--sonobuoy" in argv, "spec.args", "needs --sonobuoy (results dir, done file)")

    vols = doc.get("extra-volumes", [])
    need(isinstance(vols, list), "extra-volumes", "expected a list")
    names = {"results"}            # the driver's own volume
    for i, v in enumerate(vols):
        need(isinstance(v, dict) and isinstance(v.get("name"), str),
             "extra-volumes[%d].name" % i, "missing")
        need(len(v) >= 2, "extra-volumes[%d]" % i, "no volume source (e.g. emptyDir: {})")
        names.add(v["name"])
    mounts = spec.get("volumeMounts")
    need(isinstance(mounts, list), "spec.volumeMounts", "missing")
    results = [m for m in mounts if isinstance(m, dict) and m.get("mountPath") == RESULTS_DIR]
    need(results and results[0].get("name") == "results", "spec.volumeMounts",
         "expected the volume results mounted at %s" % RESULTS_DIR)
    for i, m in enumerate(mounts):
        need(isinstance(m, dict) and m.get("name") in names,
             "spec.volumeMounts[%d].name" % i,
             "%r is not a volume of the pod" % (m.get("name") if isinstance(m, dict) else m,))
    return argv


def main():
    if len(sys.argv) != 2:
        print("usage: sonobuoy_plugin.py PLUGIN.yaml", file=sys.stderr)
        return 2
    path = sys.argv[1]
    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
        argv = check(doc)
    except (OSError, yaml.YAMLError) as e:
        print("%s: %s" % (path, e), file=sys.stderr)
        return 1
    except Bad as e:
        print("%s: %s" % (path, e), file=sys.stderr)
        return 1
    for a in argv:
        print(a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
