"""A real SMTP server for the e-mail tests (aiosmtpd on 127.0.0.1).

Usage: smtp_sink.py PORT [USER:PASSWORD]
Prints "READY" once listening, then one JSON line per accepted message with the envelope, the
headers and the decoded text and HTML parts, so the Rust tests can assert on what arrived.
With USER:PASSWORD, AUTH (PLAIN/LOGIN) is required and only that login is accepted.
"""

import asyncio
import email
import email.policy
import json
import logging
import sys
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        parts = {"text": None, "html": None}
        for part in msg.walk():
            ctype = part.get_content_type()
            if ctype == "text/plain" and parts["text"] is None:
                parts["text"] = part.get_content()
            elif ctype == "text/html" and parts["html"] is None:
                parts["html"] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": {k.lower(): str(v) for k, v in msg.items()},
            "content_type": msg.get_content_type(),
            "text": parts["text"],
            "html": parts["html"],
            "auth": bool(getattr(session, "authenticated", False)),
        }
        print(json.dumps(record), flush=True)
        return "250 Message accepted for delivery"


def authenticator(expected):
    user, password = expected.split(":", 1)

    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        return AuthResult(success=ok, handled=False)

    return check


def main():
    # Plain AUTH is what the tests exercise on 127.0.0.1; the warning about it is noise there.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    port = int(sys.argv[1])
    kwargs = {}
    if len(sys.argv) > 2:
        kwargs = dict(
            authenticator=authenticator(sys.argv[2]),
            auth_required=True,
            auth_require_tls=False,
        )
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    print("READY", flush=True)
    try:
        # Ends when the test closes stdin (or the test process dies).
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
