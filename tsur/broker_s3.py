"""The durable local broker's S3 server: localbucket (PyPI, a standard-library S3 server), run
with TCP_NODELAY on its connections.

localbucket answers over HTTP/1.1 keep-alive and writes a response's headers and body in separate
sends; with Nagle's algorithm on, each small response then waits for the client's delayed ACK
(≈ 40 ms). Tansu's s3 engine reads one object per produced batch, so that wait capped consumption
at ≈ 30 objects/s (measured: 1-message batches consumed at 24–33 messages/s). This module turns
Nagle off and otherwise runs localbucket's own ``main`` (same arguments: ``DATA_ROOT --host --port``).

    python -m tsur.broker_s3 <data dir>/broker --host 127.0.0.1 --port 19100
"""
from __future__ import annotations

import localbucket


def main() -> None:
    localbucket.S3Handler.disable_nagle_algorithm = True     # socketserver.StreamRequestHandler sets TCP_NODELAY
    localbucket.main()


if __name__ == "__main__":
    main()
