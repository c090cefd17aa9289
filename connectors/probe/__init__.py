"""Connection probes for ``check-config --connect`` and ``init`` (``daemon.ports.probe``).

Each probe opens its connection, looks, and closes; it changes nothing on the
server (the Matrix probe's short-lived device is logged out again).
"""

from __future__ import annotations

from pathlib import Path

from connectors.probe.caldav import probe_caldav
from connectors.probe.http import probe_http
from connectors.probe.imap import probe_imap
from connectors.probe.matrix import probe_matrix
from connectors.probe.smtp import probe_smtp
from daemon.config.schema import CaldavConfig, HttpConfig, MailConfig, MatrixConfig
from daemon.ports.probe import Finding, Probe

__all__ = ["section_probe"]

Section = MatrixConfig | MailConfig | CaldavConfig | HttpConfig


def section_probe(section: Section, state_dir: Path) -> Probe:
    """The probe of one configured section."""

    async def probe() -> list[Finding]:
        if isinstance(section, MatrixConfig):
            return await probe_matrix(section, state_dir)
        if isinstance(section, MailConfig):
            return [*await probe_imap(section.imap), *await probe_smtp(section.smtp)]
        if isinstance(section, CaldavConfig):
            return await probe_caldav(section)
        return await probe_http(section)

    return probe
