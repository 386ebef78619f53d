#!/usr/bin/env python3
"""Publishes one advisory on a fresh `cnadesk serve --demo`, through its own
pages, the way two members would: set up the first admin, report through the
API, accept, reserve an ID (demo CVE Services), write the record, have a
second member approve and publish it. Prints the advisory's path.

usage: seed_advisory.py BASE_URL SETUP_URL CNADESK_BIN DATA_DIR
"""
import http.cookiejar
import json
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request

base, setup_url, cnadesk, data_dir = sys.argv[1:5]
PASSWORD = "correct horse battery staple"


class Browser:
    def __init__(self):
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, url):
        with self.opener.open(url if url.startswith("http") else base + url) as r:
            return r.read().decode()

    def csrf(self, url):
        page = self.get(url)
        m = re.search(r'name="csrf" value="([^"]+)"', page)
        if not m:
            sys.exit(f"no form on {url}")
        return m.group(1)

    def submit(self, page, action, fields):
        fields = dict(fields, csrf=self.csrf(page))
        data = urllib.parse.urlencode(fields).encode()
        url = action if action.startswith("http") else base + action
        with self.opener.open(urllib.request.Request(url, data=data)) as r:
            return r.read().decode()


ada = Browser()
ada.submit(setup_url, setup_url, {
    "username": "ada", "display_name": "Ada Admin", "email": "ada@example.org",
    "password": PASSWORD, "confirm": PASSWORD})

report = urllib.request.Request(
    base + "/api/v1/reports",
    data=json.dumps({
        "title": "Carbons accepted from any sender",
        "product": "Prosody",
        "description": "A remote entity can inject forged carbon copies into a conversation.",
        "reporter_email": "rita@example.org",
        "credit": "Rita R.",
    }).encode(),
    headers={"Content-Type": "application/json"})
with urllib.request.urlopen(report) as r:
    rid = json.load(r)["id"].removeprefix("REP-")

ada.submit(f"/desk/reports/{rid}", f"/desk/reports/{rid}/accept",
           {"title": "Carbons accepted from any sender"})
case = 1
ada.submit(f"/desk/cases/{case}/cve", f"/desk/cases/{case}/cve/reserve",
           {"amount": "1", "year": time.strftime("%Y"), "batch": "sequential"})
cve = re.search(r"CVE-\d{4}-\d{4,}", ada.get(f"/desk/cases/{case}/cve")).group(0)
ada.submit(f"/desk/cases/{case}/record", f"/desk/cases/{case}/record", {
    "action": "save", "based_on": "0", "cve_id": cve,
    "title": "Message carbons spoofing in Prosody",
    "description": "Prosody before 0.12.4 accepts message carbons from any sender, which "
                   "allows remote attackers to inject messages into a conversation.",
    "cwe_id": "CWE-346", "cwe_name": "Origin Validation Error",
    "cvss_vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:N/I:H/A:N",
    "a0_vendor": "Prosody", "a0_product": "Prosody", "a0_introduced": "0.12.0",
    "a0_fixed": "0.12.4", "a0_vtype": "semver",
    "r0_url": "https://prosody.im/security/advisory_20261120/", "r0_tags": "vendor-advisory",
    "c0_name": "Rita R.", "c0_type": "finder"})

subprocess.run([cnadesk, "admin", "create-user", "--username", "bob", "--email",
                "bob@example.org", "--data-dir", data_dir],
               input=(PASSWORD + "\n").encode(), check=True, stdout=subprocess.DEVNULL)
bob = Browser()
bob.submit("/login", "/login", {"username": "bob", "password": PASSWORD})
bob.submit(f"/desk/cases/{case}/cve", f"/desk/cases/{case}/cve/approve", {"version": "1"})
bob.submit(f"/desk/cases/{case}/cve", f"/desk/cases/{case}/cve/publish", {"version": "1"})

for _ in range(50):
    try:
        Browser().get(f"/advisories/{cve}")
        print(f"/advisories/{cve}")
        sys.exit(0)
    except urllib.error.HTTPError:
        time.sleep(0.2)
sys.exit(f"/advisories/{cve} never appeared")
