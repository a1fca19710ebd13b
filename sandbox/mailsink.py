"""A local SMTP server for the demo: every message it receives is written to a folder as an .eml file (open it in
any mail client or browser) and its subject is logged. Nothing leaves the machine.

    python -m sandbox.mailsink --port 1025 --folder var/mail
"""

from __future__ import annotations

import argparse
import email
import email.policy
import time
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller


class Folder:
    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.folder / f"{stamp}.eml"
        path.write_bytes(envelope.content)
        print(f"mail to {', '.join(envelope.rcpt_tos)}: {message['subject']}  -> {path}", flush=True)
        return "250 Message accepted for delivery"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--folder", type=Path, default=Path("var/mail"))
    args = parser.parse_args()
    controller = Controller(Folder(args.folder), hostname="127.0.0.1", port=args.port)
    controller.start()
    print(f"SMTP sink on 127.0.0.1:{args.port}, writing to {args.folder}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        controller.stop()


if __name__ == "__main__":
    main()
