#!/usr/bin/env python3
"""Builds the validation corpus: the official CVE examples and the CVE Services
test vectors that are whole records, plus generated variations of the valid
ones (ids, texts, products, versions, references, CVSS), and some invalid
mutations, so both paths of the validators are measured.

usage: make_corpus.py TEST_DATA_DIR OUT_DIR [COUNT]  (crates/cnadesk-cve/tests/data)"""
import copy
import json
import os
import random
import sys

specs, out = sys.argv[1], sys.argv[2]
count = int(sys.argv[3]) if len(sys.argv) > 3 else 2000
random.seed(20261124)
os.makedirs(out, exist_ok=True)

seeds = []
for name in ["full-record-basic-example.json", "full-record-advanced-example.json"]:
    with open(os.path.join(specs, "cve-schema-examples", name)) as f:
        seeds.append(json.load(f))
vectors = os.path.join(specs, "cve-services-vectors/5.0")
extra = []
for name in sorted(os.listdir(vectors)):
    if name.startswith("CVE-"):
        with open(os.path.join(vectors, name)) as f:
            extra.append(json.load(f))

products = ["Prosody", "ejabberd", "Openfire", "Conversations", "Gajim", "Dino", "Smack", "slixmpp", "libstrophe", "Converse.js"]
cwes = [("CWE-346", "Origin Validation Error"), ("CWE-79", "Cross-site Scripting"), ("CWE-400", "Uncontrolled Resource Consumption"), ("CWE-287", "Improper Authentication")]


def vary(seed, i):
    r = copy.deepcopy(seed)
    r["cveMetadata"]["cveId"] = "CVE-%d-%d" % (random.randint(1999, 2026), 1000 + i)
    cna = r["containers"]["cna"]
    product = random.choice(products)
    for a in cna["affected"]:
        a["vendor"] = product + " project"
        a["product"] = product
        for v in a.get("versions", []):
            major = random.randint(0, 9)
            if v.get("lessThan") not in (None, "*") and v.get("versionType") == "semver":
                v["version"] = "%d.%d.0" % (major, random.randint(0, 9))
                v["lessThan"] = "%d.%d.0" % (major + 1, random.randint(0, 9))
    cwe = random.choice(cwes)
    cna["problemTypes"] = [{"descriptions": [{"lang": "en", "cweId": cwe[0], "description": "%s %s" % cwe, "type": "CWE"}]}]
    cna["descriptions"][0]["value"] = "%s before %d.%d allows a remote attacker to %s via crafted stanzas (variation %d)." % (
        product, random.randint(1, 9), random.randint(0, 9), random.choice(["spoof messages", "crash the server", "read roster entries"]), i)
    cna["references"] = [{"url": "https://security.example-%d.net/advisories/%d/%d" % (i % 17, i, j)} for j in range(random.randint(1, 4))]
    return r


def mutate(r, i):
    """An invalid variation: one realistic mistake."""
    choice = i % 4
    if choice == 0:
        r["cveMetadata"]["cveId"] = "CVE-26-%d" % i
    elif choice == 1:
        r["containers"]["cna"]["references"][0]["url"] = "not a url %d" % i
    elif choice == 2:
        del r["containers"]["cna"]["descriptions"]
    else:
        r["containers"]["cna"]["affected"][0]["versions"] = [{"version": "1.0", "status": "broken"}]
    return r


n = 0
for i, doc in enumerate(seeds + extra):
    with open(os.path.join(out, "official-%02d.json" % i), "w") as f:
        json.dump(doc, f)
    n += 1
i = 0
while n < count:
    r = vary(seeds[i % len(seeds)], i)
    if i % 10 == 9:
        r = mutate(r, i)
    with open(os.path.join(out, "generated-%05d.json" % i), "w") as f:
        json.dump(r, f)
    n += 1
    i += 1
print("corpus: %d records in %s" % (n, out))
