"""The one content hash behind idempotency: a retry with the same content replays the first answer,
the same id with other content is 409. Compact JSON of a list of plain values, SHA-256 in hex; the
stored hashes depend on this exact form, so it must not change."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def content_hash(content: list[Any]) -> str:
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()
