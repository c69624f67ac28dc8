#!/usr/bin/python3
"""Validates CDI spec files against the published CDI schema (schema/cdi/, see SOURCES.md).

Usage: validate-cdi.py [--nodes-exist] FILE...
Also checks what the CDI specification states in prose but its schema does not: the form of
`kind` (VENDOR/CLASS) and of device names, unique device names, a known cdiVersion, and that
every device lists at least one device node with an absolute path. With --nodes-exist, every
device node path must exist on this machine (run inside the guest).
Prints one line per problem and exits 1 if there is any.
"""
import json
import os
import re
import sys

import jsonschema

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cdi")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
PART = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")
VERSIONS = {"0.3.0", "0.4.0", "0.5.0", "0.6.0", "0.7.0", "0.8.0", "1.0.0", "1.1.0"}


def validator():
    schema = json.load(open(os.path.join(HERE, "schema.json")))
    defs = json.load(open(os.path.join(HERE, "defs.json")))
    try:
        # jsonschema 4.18 and later resolve references through the `referencing` package.
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT7

        registry = Registry().with_resource("defs.json", Resource.from_contents(defs, default_specification=DRAFT7))
        return jsonschema.Draft7Validator(schema, registry=registry)
    except ImportError:
        # Older releases (Debian 12's 4.10) take a resolver with a store of documents.
        base = "file://" + HERE + "/"
        resolver = jsonschema.RefResolver(base + "schema.json", schema, store={base + "defs.json": defs})
        return jsonschema.Draft7Validator(schema, resolver=resolver)


def problems(spec, nodes_exist):
    out = [f"{'/'.join(map(str, e.path))}: {e.message[:300]}" for e in validator().iter_errors(spec)]
    if out:
        return out
    if spec["cdiVersion"] not in VERSIONS:
        out.append(f"cdiVersion: unknown version {spec['cdiVersion']!r}")
    parts = spec["kind"].split("/")
    if len(parts) != 2 or not all(PART.match(p) for p in parts):
        out.append(f"kind: {spec['kind']!r} is not VENDOR/CLASS")
    names = [d["name"] for d in spec["devices"]]
    for name in names:
        if not NAME.match(name):
            out.append(f"devices: invalid name {name!r}")
    if len(set(names)) != len(names):
        out.append("devices: duplicate names")
    for device in spec["devices"]:
        nodes = device["containerEdits"].get("deviceNodes", [])
        if not nodes:
            out.append(f"devices/{device['name']}: no device nodes")
        for node in nodes:
            if not node["path"].startswith("/"):
                out.append(f"devices/{device['name']}: relative path {node['path']!r}")
            elif nodes_exist and not os.path.exists(node["path"]):
                out.append(f"devices/{device['name']}: {node['path']} does not exist")
    return out


def main():
    args = sys.argv[1:]
    nodes_exist = "--nodes-exist" in args
    files = [a for a in args if a != "--nodes-exist"]
    bad = 0
    for path in files:
        for problem in problems(json.load(open(path)), nodes_exist):
            bad += 1
            print(f"{path}: {problem}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
