"""A real SMTP server for the e-mail tests (aiosmtpd on 127.0.0.1).

Usage: smtp_sink.py PORT [USER:PASSWORD] [--starttls CERT KEY | --tls CERT KEY]
Prints "READY" once listening, then one JSON line per accepted message with the envelope, the
headers and the decoded text and HTML parts, so the Rust tests can assert on what arrived.
With USER:PASSWORD, AUTH (PLAIN/LOGIN) is required and only that login is accepted.
--starttls requires STARTTLS before anything else; --tls speaks TLS from the first byte.
"""

import asyncio
import email
import email.policy
import json
import ssl
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
            "tls": server.transport.get_extra_info("sslcontext") is not None,
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
    args = sys.argv[1:]
    mode, cert, key = None, None, None
    for flag in ("--starttls", "--tls"):
        if flag in args:
            i = args.index(flag)
            mode, cert, key = flag, args[i + 1], args[i + 2]
            del args[i : i + 3]
    # Plain AUTH is what the tests exercise on 127.0.0.1; the warning about it is noise there.
    warnings.simplefilter("ignore")
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    port = int(args[0])
    kwargs = {}
    if len(args) > 1:
        kwargs = dict(
            authenticator=authenticator(args[1]),
            auth_required=True,
            # Implicit TLS is invisible to aiosmtpd's STARTTLS bookkeeping; the connection is
            # encrypted from the first byte, so AUTH may be offered at once.
            auth_require_tls=mode == "--starttls",
        )
    if mode is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        if mode == "--starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context)
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
