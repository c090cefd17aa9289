"""Attachments on disk, named by the sha256 of their content, never by a sender's name."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from pathlib import Path

from daemon.model import DocumentHash


class DocumentStore:
    """``documents/ab/abcdef...``: write once, read by hash, identical content stored once."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def path_of(self, sha256: DocumentHash) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self._root / sha256[:2] / sha256

    async def put(self, content: bytes) -> DocumentHash:
        """Store ``content`` durably (fsynced) and return its hash."""
        return await asyncio.to_thread(self._put_sync, content)

    async def get(self, sha256: DocumentHash) -> bytes:
        return await asyncio.to_thread(self.path_of(sha256).read_bytes)

    def _put_sync(self, content: bytes) -> DocumentHash:
        digest = DocumentHash(hashlib.sha256(content).hexdigest())
        target = self.path_of(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        # Write beside the target and rename, so a crash never leaves a half file
        # under a content name; fsync first because the database will point at it.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return digest
