#!/usr/bin/env python3
"""kube_objects_diff.py - compare the objects conform builds (a JSON array)
with what kustomize renders (a YAML stream), object by object (kind + name),
on every field both set: maps on their common keys (a key only kustomize
renders is a difference too; one only conform builds, e.g. its run label,
is not), lists element by element
(lists of named items, e.g. containers and ports, by name), scalars by value
(a number and its string, e.g. cpu "1" and 1, are not the same).

  kube_objects_diff.py BUILT.json RENDERED.yaml [KIND/NAME...]

Without names, every built object must be in the rendered stream, and every
rendered object must be built, but for the kinds the mesh adapter applies
(routes and policy: MESH_KINDS). Prints one
line per difference (the object, the field path and both values) and exits 1
when there is one; exit 2 on bad input.
"""
import json
import sys

import yaml


# applied by the mesh adapter (lib/mesh/linkerd), not by the platform
MESH_KINDS = {"HTTPRoute", "Server", "AuthorizationPolicy", "MeshTLSAuthentication"}


def key(o):
    return "%s/%s" % (o.get("kind"), (o.get("metadata") or {}).get("name"))


def named(lst):
    return all(isinstance(x, dict) and "name" in x for x in lst)


def compare(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) & set(b)):
            compare(a[k], b[k], path + "." + k, out)
        for k in sorted(set(b) - set(a)):
            out.append("%s.%s: not built, kustomize renders %s" % (path, k, json.dumps(b[k])))
    elif isinstance(a, list) and isinstance(b, list):
        if a and b and named(a) and named(b):
            bn = {x["name"]: x for x in b}
            an = [x["name"] for x in a]
            if an != [x["name"] for x in b]:
                out.append("%s: names %s != %s" % (path, an, [x["name"] for x in b]))
            for x in a:
                if x["name"] in bn:
                    compare(x, bn[x["name"]], "%s[%s]" % (path, x["name"]), out)
            return
        if len(a) != len(b):
            out.append("%s: %d items != %d items: %s != %s" % (path, len(a), len(b),
                       json.dumps(a), json.dumps(b)))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, "%s[%d]" % (path, i), out)
    elif type(a) is not type(b) or a != b:
        out.append("%s: %s != %s" % (path, json.dumps(a), json.dumps(b)))


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1]) as f:
            built = json.load(f)
        with open(sys.argv[2]) as f:
            rendered = [d for d in yaml.safe_load_all(f) if d]
    except (OSError, ValueError, yaml.YAMLError) as e:
        print("kube_objects_diff: %s" % e, file=sys.stderr)
        return 2
    have = {key(o): o for o in rendered}
    want = set(sys.argv[3:])
    out = []
    for o in built:
        k = key(o)
        if want and k not in want:
            continue
        if k not in have:
            out.append("%s: built, but kustomize renders no such object" % k)
            continue
        diffs = []
        compare(o, have[k], "", diffs)
        out.extend("%s: %s" % (k, d) for d in diffs)
    for k in sorted(want - {key(o) for o in built}):
        out.append("%s: asked for, but not built" % k)
    if not want:
        built_keys = {key(o) for o in built}
        for o in rendered:
            if o.get("kind") not in MESH_KINDS and key(o) not in built_keys:
                out.append("%s: kustomize renders it, but it is not built" % key(o))
    for line in out:
        print(line)
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main())
