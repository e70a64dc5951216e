"""Send HL7 v2 messages over MLLP, as a HIS would, for the browser tests.

Starts the real MLLP listener of the server's data directory (HOUNSFIELD_DATA_DIR in the
environment) on a free port, sends each message (one per argument, segments separated by
"\\r" or "\\n") over one connection, prints the MSA-1 codes of the ACKs as JSON, stops it.
Usage: send_hl7.py MESSAGE...
"""

from __future__ import annotations

import json
import socket
import sys

from hounsfield.config import get_settings
from hounsfield.hl7.listener import END, Hl7Listener, frame


def main(messages: list[str]) -> None:
    settings = get_settings()
    hl7 = settings.hl7.model_copy(update={"port": 0})
    listener = Hl7Listener(settings.model_copy(update={"hl7": hl7}))
    listener.start()
    codes = []
    try:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as sock:
            for message in messages:
                sock.sendall(frame(message.replace("\n", "\r")))
                reply = b""
                while not reply.endswith(END):
                    chunk = sock.recv(65536)
                    if not chunk:
                        raise SystemExit("connection closed before the ACK")
                    reply += chunk
                segments = reply.decode("utf-8").strip("\x0b\x1c\r").split("\r")
                msa = next(s for s in segments if s.startswith("MSA"))
                codes.append(msa.split("|")[1])
    finally:
        listener.stop()
    sys.stdout.write(json.dumps(codes) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
