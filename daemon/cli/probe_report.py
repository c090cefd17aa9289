"""The connection probes' findings in plain words, Dutch first and English after.

Shared by ``check-config --connect`` and ``init``. The exit code follows the
worst finding: 0 all good, 1 a connection problem, 2 a configuration problem
(a secret that cannot be read).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from daemon.i18n import Translator, mark
from daemon.ports.probe import Finding, Kind, Probe, Severity

EXIT_OK = 0
EXIT_CONNECTION = 1
EXIT_CONFIG = 2

# One sentence per kind; ``{subject}`` is the room, folder, calendar or host:port.
WORDS: Mapping[Kind, str] = {
    Kind.CONNECTED: mark("connected: {subject}"),
    Kind.UNREACHABLE: mark(
        "cannot reach {subject}: is the server running, and are host and port right?"
    ),
    Kind.NOT_MATRIX: mark(
        "{subject} answers, but not as a Matrix homeserver: check the homeserver URL"
    ),
    Kind.LOGIN_REFUSED: mark("login refused for {subject}: wrong user name, password or token"),
    Kind.CERTIFICATE: mark(
        "the certificate of {subject} is not trusted (expired, made for another name, or "
        "from a private CA: then set ca_file)"
    ),
    Kind.TLS_FAILED: mark("the secure connection to {subject} failed: check security and port"),
    Kind.SECRET_MISSING: mark("the password or token for {subject} cannot be read"),
    Kind.ROOM_NOT_FOUND: mark("room {subject} does not exist on the homeserver"),
    Kind.ROOM_NOT_JOINED: mark("the bot is not in room {subject}: invite it (it joins at start)"),
    Kind.ROOM_OK: mark("room {subject}: joined, may post"),
    Kind.NO_POWER_TO_POST: mark("the bot may not post in room {subject}: raise its power level"),
    Kind.ENCRYPTED_UNVERIFIED: mark(
        "room {subject} is encrypted and the bot's device is not verified (not cross-signed)"
    ),
    Kind.ENCRYPTED_NOT_CHECKED: mark(
        "room {subject} is encrypted; the bot's device is made at its first start, so its "
        "verification cannot be checked yet"
    ),
    Kind.FOLDER_MISSING: mark("folder {subject} does not exist in the mailbox"),
    Kind.FOLDER_OK: mark("folder {subject} is there"),
    Kind.FOLDER_CREATED_LATER: mark(
        "folder {subject} does not exist yet; Wijkbode makes it when needed"
    ),
    Kind.CALENDAR_MISSING: mark("calendar {subject} not found"),
    Kind.CALENDAR_OK: mark("calendar {subject} found"),
    Kind.CALENDAR_CREATED_LATER: mark(
        "calendar {subject} does not exist yet; Wijkbode makes it at its first write"
    ),
    Kind.PORT_TAKEN: mark(
        "address {subject} is already in use (by another program, or is Wijkbode running?)"
    ),
    Kind.PORT_FREE: mark("address {subject} is free"),
    Kind.CLOCK_SKEW: mark(
        "this computer's clock differs {detail} seconds from {subject}: switch on time "
        "synchronisation (NTP)"
    ),
    Kind.CLOCK_OK: mark("this computer's clock agrees with {subject}"),
    Kind.FAILED: mark("{subject}: unexpected failure"),
}

_MARKS = {Severity.OK: "ok  ", Severity.WARNING: "LET OP/NOTE", Severity.ERROR: "FOUT/ERROR"}


def sentence(finding: Finding, language: str) -> str:
    """The finding's sentence in one language."""
    _ = Translator(language)
    return _(WORDS[finding.kind], subject=finding.subject, detail=finding.detail)


def line(finding: Finding) -> str:
    """``connector  mark  Dutch (English)``, plus the server's own words for a problem."""
    text = f"  {finding.connector:<7}{_MARKS[finding.severity]:<12}"
    text += f"{sentence(finding, 'nl')} ({sentence(finding, 'en')})"
    if (
        finding.detail
        and finding.severity is not Severity.OK
        and finding.kind is not Kind.CLOCK_SKEW
    ):
        text += f"\n{'':21}[{finding.detail}]"
    return text


def exit_code(findings: Iterable[Finding]) -> int:
    errors = [f for f in findings if f.severity is Severity.ERROR]
    if any(f.kind is Kind.SECRET_MISSING for f in errors):
        return EXIT_CONFIG
    return EXIT_CONNECTION if errors else EXIT_OK


async def run_probes(probes: Iterable[Probe]) -> list[Finding]:
    """Every probe at once; their findings in the probes' order."""
    results = await asyncio.gather(*(probe() for probe in probes))
    return [finding for found in results for finding in found]


def report(findings: list[Finding]) -> str:
    lines = ["Verbindingen / connections:"]
    lines += [line(f) for f in findings] or ["  -"]
    problems = sum(1 for f in findings if f.severity is Severity.ERROR)
    if problems:
        lines.append(
            f"{problems} probleem/problemen met de verbindingen ({problems} connection problem(s))"
        )
    else:
        lines.append("Alle verbindingen in orde (all connections OK)")
    return "\n".join(lines)
