#!/usr/bin/env python3
"""Validates JSON documents against one of berth's schemas (JSON Schema 2020-12) with Python's jsonschema.

usage: check-schema.py SCHEMA DOCUMENT...   exit 0 if every document is valid, 1 otherwise (errors on stdout).
Cross-schema references ($ref to another schema's $id) resolve against the files in the schema's folder.
"""
import json
import pathlib
import sys

import jsonschema
from referencing import Registry, Resource


def main() -> int:
    schema_path = pathlib.Path(sys.argv[1])
    registry = Registry()
    for path in schema_path.parent.glob("*.schema.json"):
        contents = json.loads(path.read_text())
        registry = registry.with_resource(contents["$id"], Resource.from_contents(contents))
    schema = json.loads(schema_path.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    failed = False
    for document_path in sys.argv[2:]:
        document = json.loads(pathlib.Path(document_path).read_text())
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path)):
            failed = True
            location = "/".join(str(part) for part in error.path)
            print(f"{document_path}: /{location}: {error.message}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
