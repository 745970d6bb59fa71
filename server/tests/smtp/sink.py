"""An SMTP server for the e-mail notification tests: it keeps every message it accepts.

Run with Debian's /usr/bin/python3 and python3-aiosmtpd:

    sink.py --port PORT --dir DIR --user USER --password PASSWORD --cert PEM --key PEM
    sink.py --port PORT --dir DIR --plain [--user USER --password PASSWORD]

With a certificate the server offers STARTTLS and refuses everything before it, and takes mail
only from a client that authenticated as USER with PASSWORD (AUTH is offered only over TLS).
With --plain it offers no STARTTLS and needs no AUTH, but offers it in clear when given USER and
PASSWORD: a server a client must refuse to talk to when it requires TLS, which stores whatever
it is sent in clear (and notes who logged in) so a test can see nothing was.

Each accepted message becomes NNNN.eml (the data as received) and NNNN.json (envelope sender,
recipients, whether the session was over TLS, who authenticated), the JSON written last and by
rename, so a reader that sees it sees the whole message. PORT 0 takes a free port. Once
listening it prints "ready 127.0.0.1:PORT" and runs until killed.
"""

import argparse
import asyncio
import json
import logging
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Store:
    """Writes accepted messages into a directory, numbered from the files already there."""

    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.count = len([n for n in os.listdir(directory) if n.endswith(".json")])

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        stem = os.path.join(self.directory, f"{self.count:04}")
        with open(stem + ".eml", "wb") as out:
            out.write(envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None,
            "login": session.auth_data.login.decode() if session.authenticated else None,
        }
        with open(stem + ".tmp", "w") as out:
            json.dump(meta, out)
        os.rename(stem + ".tmp", stem + ".json")
        return "250 OK stored"


def authenticator(user, password):
    expected = LoginPassword(user.encode(), password.encode())

    def check(server, session, envelope, mechanism, data):
        # Only LOGIN and PLAIN hand over a LoginPassword; anything else fails. A failure is not
        # "handled" so that the server answers it with 535, as real servers do.
        if isinstance(data, LoginPassword) and data == expected:
            return AuthResult(success=True, auth_data=data)
        return AuthResult(success=False, handled=False)

    return check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--plain", action="store_true")
    args = parser.parse_args()

    # aiosmtpd warns about its own deprecated attribute on every AUTH; errors still show.
    logging.getLogger("mail.log").setLevel(logging.ERROR)
    store = Store(args.dir)
    if args.plain:
        # AUTH offered in clear too, when an account is given: a client that would send its
        # password or mail without TLS finds a server ready to take both.
        options = {}
        if args.user and args.password:
            options = {
                "auth_require_tls": False,
                "authenticator": authenticator(args.user, args.password),
            }
    else:
        if not (args.user and args.password and args.cert and args.key):
            parser.error("--user, --password, --cert and --key are needed without --plain")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        options = {
            "tls_context": context,
            "require_starttls": True,
            "auth_required": True,
            "auth_require_tls": True,
            "authenticator": authenticator(args.user, args.password),
        }

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(
            lambda: SMTP(store, hostname="sink.test", loop=loop, **options),
            host="127.0.0.1",
            port=args.port,
        )
    )
    port = server.sockets[0].getsockname()[1]
    print(f"ready 127.0.0.1:{port}", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
