"""The durable local broker's S3 server: localbucket (PyPI, a standard-library S3 server), run
with TCP_NODELAY on its connections and a listing that reads only the folder a prefix names.

- localbucket answers over HTTP/1.1 keep-alive and writes a response's headers and body in separate
  sends; with Nagle's algorithm on, each small response then waits for the client's delayed ACK
  (≈ 40 ms). Tansu's s3 engine reads one object per produced batch, so that wait capped consumption
  at ≈ 30 objects/s (measured: 1-message batches consumed at 24–33 messages/s).
- localbucket's ListObjectsV2 walks the whole bucket and then keeps the keys under the prefix.
  Tansu lists ``…/topics/<topic>/partitions/<n>/records/`` to find a partition's batches, so each
  listing read every object of every topic: 21–42 ms per listing with 12,600 objects in the bucket,
  growing with the bucket. Here the walk starts at the deepest folder the prefix names; the keys,
  their order and paging are localbucket's.

Otherwise localbucket's own ``main`` (same arguments: ``DATA_ROOT --host --port``).

    python -m tsur.broker_s3 <data dir>/broker --host 127.0.0.1 --port 19100
"""
from __future__ import annotations

import os
from pathlib import Path

import localbucket


def keys_under(bucket_dir: Path, prefix: str) -> list[tuple[str, Path]]:
    """(key, path) of every object whose key starts with ``prefix``, sorted by the key's bytes (S3's
    order): only the folder the prefix's complete path components name is walked."""
    folder = prefix.rsplit("/", 1)[0] if "/" in prefix else ""
    root = bucket_dir / folder if folder else bucket_dir
    if prefix.startswith("/") or ".." in Path(folder).parts or not root.is_dir():
        return []
    keys = []
    for directory, _, files in os.walk(root):
        for name in files:
            if name.startswith(localbucket.TEMP_PREFIX):
                continue
            path = Path(directory, name)
            key = path.relative_to(bucket_dir).as_posix()
            if key.startswith(prefix):
                keys.append((key, path))
    keys.sort(key=lambda item: item[0].encode())
    return keys


def _list_entries(self, bucket_dir: Path, prefix: str, delimiter: str, marker: str, marker_is_prefix: bool,
                  max_keys: int) -> tuple[list[tuple[str, Path]], list[str], bool, str]:
    """localbucket's S3Handler._list_entries (one page of keys and common prefixes after the marker)
    over ``keys_under`` instead of the whole bucket."""
    contents: list[tuple[str, Path]] = []
    common_prefixes: list[str] = []
    last_entry, truncated = "", False
    for key, path in keys_under(bucket_dir, prefix):
        if marker and (key.encode() <= marker.encode() or (marker_is_prefix and key.startswith(marker))):
            continue
        common = ""
        if delimiter:
            index = key.find(delimiter, len(prefix))
            if index >= 0:
                common = key[: index + len(delimiter)]
        if common and common_prefixes and common_prefixes[-1] == common:
            continue
        if len(contents) + len(common_prefixes) >= max_keys:
            truncated = max_keys > 0
            break
        if common:
            common_prefixes.append(common)
            last_entry = "P:" + common
        else:
            contents.append((key, path))
            last_entry = "K:" + key
    return contents, common_prefixes, truncated, last_entry


def main() -> None:
    localbucket.S3Handler.disable_nagle_algorithm = True     # socketserver.StreamRequestHandler sets TCP_NODELAY
    localbucket.S3Handler._list_entries = _list_entries
    localbucket.main()


if __name__ == "__main__":
    main()
