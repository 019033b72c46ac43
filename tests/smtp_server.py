#!/usr/bin/env python3
"""A real SMTP server for icsat's mail tests and benchmark (aiosmtpd, 127.0.0.1 only).

Prints the port it listens on as its first line of output, then serves until killed.
Each accepted message is stored as a file in DIR (unless --discard), with the envelope
recipients in a first `X-Test-Rcpt:` line. Misbehaviour on request:

  --tempfail N        answer 451 to the first N DATA commands (or RCPT: --tempfail-at rcpt)
  --reject ADDRESS    answer 550 to RCPT TO for this address (repeatable)
  --delay MS          wait this long before accepting each message
  --port P            listen on this port instead of a free one

On SIGTERM/SIGINT it prints `delivered N` to stderr.
"""

import argparse
import asyncio
import os
import signal
import sys

try:
    from aiosmtpd.smtp import SMTP
except ImportError:
    sys.stderr.write(
        "smtp_server.py needs aiosmtpd: python3 -m pip install aiosmtpd (.ci/run installs it)\n"
    )
    sys.exit(3)


class Handler:
    def __init__(self, args):
        self.dir = args.dir
        self.discard = args.discard
        self.tempfail_left = args.tempfail
        self.tempfail_at = args.tempfail_at
        self.reject = {a.lower() for a in args.reject}
        self.delay = args.delay / 1000.0
        self.delivered = 0
        self.prefix = "%d-%d" % (os.getpid(), int.from_bytes(os.urandom(4), "big"))

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 <%s>: Recipient address rejected: User unknown" % address
        if self.tempfail_at == "rcpt" and self.tempfail_left > 0:
            self.tempfail_left -= 1
            return "451 4.3.0 Temporary failure, please try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.tempfail_at == "data" and self.tempfail_left > 0:
            self.tempfail_left -= 1
            return "451 4.3.0 Temporary failure, please try again later"
        if self.delay:
            await asyncio.sleep(self.delay)
        self.delivered += 1
        if not self.discard:
            name = "%s-%06d.eml" % (self.prefix, self.delivered)
            temp = os.path.join(self.dir, "." + name + ".tmp")
            with open(temp, "wb") as f:
                f.write(b"X-Test-Rcpt: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
                f.write(envelope.original_content or envelope.content)
            os.replace(temp, os.path.join(self.dir, name))
        return "250 2.0.0 Message accepted for delivery"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", nargs="?", default=".")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tempfail", type=int, default=0)
    parser.add_argument("--tempfail-at", choices=["data", "rcpt"], default="data")
    parser.add_argument("--reject", action="append", default=[])
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--discard", action="store_true")
    args = parser.parse_args()
    if not args.discard:
        os.makedirs(args.dir, exist_ok=True)

    handler = Handler(args)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def factory():
        return SMTP(handler, hostname="icsat-test-smtp", ident="icsat test SMTP",
                    enable_SMTPUTF8=True, loop=loop)

    server = loop.run_until_complete(
        loop.create_server(factory, host="127.0.0.1", port=args.port, reuse_address=True)
    )
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()

    def stop():
        sys.stderr.write("delivered %d\n" % handler.delivered)
        sys.stderr.flush()
        loop.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
