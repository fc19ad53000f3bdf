"""Bounds every reader enforces before parsing, so a hostile file cannot exhaust memory."""

from __future__ import annotations

from rxledger.domain.errors import FileTooLarge

# A large wholesaler ASN or an EPCIS file of a full pallet is a few megabytes; 25 MB is ample.
MAX_FILE_BYTES = 25 * 1024 * 1024


def require_size(data: bytes, *, limit: int = MAX_FILE_BYTES) -> None:
    """Refuse a file larger than ``limit`` bytes before any parsing starts."""
    if len(data) > limit:
        raise FileTooLarge(
            f"the file is {len(data):,} bytes; at most {limit:,} are accepted",
            size=len(data),
            limit=limit,
        )
