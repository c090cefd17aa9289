"""Encrypted events whose room key has not arrived yet, held and retried.

Keys often arrive a moment after the message (or after a key request), so an
undecryptable event is kept (in memory and in ``pending_events.json``, so a
restart does not lose it), retried after every sync, and reported as
``ChatUndecryptable`` only after ``hold_s`` seconds.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nio

from connectors.matrix.convert import timestamp
from connectors.matrix.session import write_private
from daemon.ports.chat import ChatUndecryptable

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Held:
    room_id: str
    source: dict[str, Any]
    first_seen: float

    @property
    def event_id(self) -> str:
        return str(self.source["event_id"])


class PendingDecryption:
    """The held events of one client, persisted in ``path``."""

    def __init__(self, client: nio.AsyncClient, path: Path, hold_s: float) -> None:
        self._client = client
        self._path = path
        self._hold_s = hold_s
        self._held: dict[str, Held] = {}
        if path.exists():
            for item in json.loads(path.read_text("utf-8")):
                held = Held(item["room_id"], item["source"], float(item["first_seen"]))
                self._held[held.event_id] = held

    def __len__(self) -> int:
        return len(self._held)

    async def hold(self, room_id: str, event: nio.MegolmEvent) -> None:
        """Keep ``event`` for later and ask our other devices and the sender for its key."""
        if event.event_id in self._held:
            return
        self._held[event.event_id] = Held(room_id, dict(event.source), time.time())
        try:
            await self._client.request_room_key(event)
        except (nio.LocalProtocolError, OSError) as error:
            # Already requested for this session, or offline: the key may still come.
            log.debug("room key request for %s not sent: %s", event.event_id, error)

    def retry(self) -> list[tuple[str, Any]]:
        """(room id, decrypted nio event) for every held event whose key has arrived."""
        decrypted: list[tuple[str, Any]] = []
        for event_id, held in list(self._held.items()):
            event = nio.MegolmEvent.from_dict(held.source)
            if not self._has_key(held.room_id, event):
                continue
            try:
                result = self._client.olm.decrypt_megolm_event(event, held.room_id)
            except nio.EncryptionError:
                continue
            del self._held[event_id]
            decrypted.append((held.room_id, result))
        return decrypted

    def _has_key(self, room_id: str, event: Any) -> bool:
        # Asking the store first keeps nio from logging a warning on every retry.
        store = self._client.olm.inbound_group_store
        return store.get(room_id, event.sender_key, event.session_id) is not None

    def expired(self) -> list[ChatUndecryptable]:
        """Events that waited longer than ``hold_s``; removed and logged once."""
        limit = time.time() - self._hold_s
        gone: list[ChatUndecryptable] = []
        for event_id, held in list(self._held.items()):
            if held.first_seen > limit:
                continue
            del self._held[event_id]
            log.warning(
                "Matrix: bericht %s in %s blijft onleesbaar, sleutel kwam niet "
                "(event stays undecryptable, its key never arrived)",
                event_id,
                held.room_id,
            )
            gone.append(
                ChatUndecryptable(
                    room_id=held.room_id,
                    event_id=event_id,
                    sender=str(held.source.get("sender", "")),
                    origin_server_ts=timestamp(int(held.source.get("origin_server_ts", 0))),
                )
            )
        return gone

    def save(self) -> None:
        items = [
            {"room_id": h.room_id, "source": h.source, "first_seen": h.first_seen}
            for h in self._held.values()
        ]
        write_private(self._path, json.dumps(items))
