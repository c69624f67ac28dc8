#!/usr/bin/python3
"""Validates vfioctl --json documents against schema/vfioctl.schema.json.

Usage: validate.py SCHEMA DEFINITION FILE...   (DEFINITION is a $defs name, or "any")
Prints one line per invalid document and exits 1 if any is invalid.
"""
import json
import sys

import jsonschema


def main():
    schema_path, definition, files = sys.argv[1], sys.argv[2], sys.argv[3:]
    schema = json.load(open(schema_path))
    if definition != "any":
        schema = {"$ref": "#/$defs/" + definition, "$defs": schema["$defs"]}
    validator = jsonschema.Draft202012Validator(schema)
    bad = 0
    for path in files:
        document = json.load(open(path))
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        for error in errors[:3]:
            bad += 1
            print(f"{path}: {'/'.join(map(str, error.path))}: {error.message[:300]}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
