"""The CalDAV channel, loaded on its first write.

Calendar writes are rare (a meeting announced, moved or cancelled), and caldav
with its HTTP stack costs about 17 MB of memory once imported, so the daemon
does not import it until the outbox has something for the calendar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from daemon.config.schema import CaldavConfig
from daemon.ports.outbox import ChannelName, Effect

if TYPE_CHECKING:
    from connectors.calendar.channel import CaldavChannel


class OnDemandCaldavChannel:
    """A ``CaldavChannel`` made on the first delivery; the same guarantees after that."""

    name = ChannelName.CALDAV

    def __init__(self, config: CaldavConfig, tz: ZoneInfo) -> None:
        self._config = config
        self._tz = tz
        self._channel: CaldavChannel | None = None

    @property
    def loaded(self) -> bool:
        return self._channel is not None

    async def deliver(self, effect: Effect) -> str:
        if self._channel is None:
            from connectors.calendar.channel import CaldavChannel

            self._channel = CaldavChannel(self._config, self._tz)
        return await self._channel.deliver(effect)

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
