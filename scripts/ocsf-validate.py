#!/usr/bin/env python3
"""Validates OCSF events (JSON lines on stdin) against the official OCSF schema of the version
each declares (metadata.version), for its class and the profiles it declares
(metadata.profiles), the way the OCSF server validates: JSON Schema generated from the
schema's export (PyPI package ocsf-json-schema, which ships the exports), with unknown
attributes refused. Prints one line per problem as `LINE: PATH: MESSAGE`; exits 1 if any.
"""
import json
import sys

import jsonschema
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

schemas = {}
validators = {}


def validator(version, class_uid, profiles):
    key = (version, class_uid, tuple(sorted(profiles)))
    if key not in validators:
        if version not in schemas:
            schemas[version] = OcsfJsonSchemaEmbedded(get_ocsf_schema(version))
        s = schemas[version]
        name = s.lookup_class_name_from_uid(class_uid)
        schema = s.get_class_schema(name, list(profiles))
        validators[key] = jsonschema.Draft202012Validator(schema)
    return validators[key]


problems = 0
events = 0
for number, line in enumerate(sys.stdin, 1):
    if not line.strip():
        continue
    events += 1
    event = json.loads(line)
    meta = event.get("metadata", {})
    try:
        v = validator(meta.get("version"), event.get("class_uid"), meta.get("profiles", []))
    except Exception as e:  # unknown version, class or profile
        print(f"{number}: -: cannot build the schema: {e}")
        problems += 1
        continue
    for error in sorted(v.iter_errors(event), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in error.absolute_path) or "-"
        print(f"{number}: {path}: {error.message[:300]}")
        problems += 1
print(f"{events} event(s), {problems} problem(s)", file=sys.stderr)
sys.exit(1 if problems else 0)
