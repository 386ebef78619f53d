#!/usr/bin/env python3
"""Validates every record of a corpus with Python's jsonschema (what cvelib
uses), format checks on, collecting all errors per record like cnadesk does.
Prints records per second (validation only, schema compiled once)."""
import json
import os
import sys
import time

import jsonschema

schema_path, corpus = sys.argv[1], sys.argv[2]
with open(schema_path) as f:
    schema = json.load(f)
docs = []
for name in sorted(os.listdir(corpus)):
    with open(os.path.join(corpus, name)) as f:
        docs.append(json.load(f))
validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
start = time.perf_counter()
invalid = 0
for d in docs:
    if list(validator.iter_errors(d)):
        invalid += 1
elapsed = time.perf_counter() - start
print(json.dumps({"records": len(docs), "invalid": invalid, "seconds": elapsed, "per_second": len(docs) / elapsed}))
