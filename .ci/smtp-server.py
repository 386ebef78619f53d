#!/usr/bin/env python3
"""A real SMTP server for the integration tests (aiosmtpd), on loopback.

It requires AUTH (PLAIN or LOGIN) with the given account, accepts mail for
any recipient and delivers each message into a local mailbox: a Maildir
(`MAILDIR/new/<n>.eml`), with the envelope beside it (`<n>.json`).

usage: smtp-server.py PORT MAILDIR USER PASSWORD
"""
import json
import os
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, maildir, user, password = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
for sub in ("new", "tmp", "cur"):
    os.makedirs(os.path.join(maildir, sub), exist_ok=True)


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == user.encode() \
        and auth_data.password == password.encode()
    return AuthResult(success=ok)


class Mailbox:
    counter = 0

    async def handle_DATA(self, server, session, envelope):
        Mailbox.counter += 1
        name = f"{time.time_ns()}.{Mailbox.counter}"
        tmp = os.path.join(maildir, "tmp", name)
        with open(tmp + ".eml", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        with open(tmp + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "auth": session.authenticated}, f)
        # Envelope first, so a reader that sees the message sees its envelope.
        os.rename(tmp + ".json", os.path.join(maildir, "new", name + ".json"))
        os.rename(tmp + ".eml", os.path.join(maildir, "new", name + ".eml"))
        return "250 OK delivered to the local mailbox"


controller = Controller(Mailbox(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                        auth_required=True, auth_require_tls=False)
controller.start()
print(f"smtp: listening on 127.0.0.1:{port}, mailbox {maildir}", flush=True)
try:
    while True:
        time.sleep(3600)
finally:
    controller.stop()
