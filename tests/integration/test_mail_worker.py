"""The parse worker pool with real worker processes: parallel, time-limited, on demand, lean.

No servers: these start ``connectors.mail.worker_main`` processes and look at them in /proc.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from connectors.mail.worker import MailParser
from daemon.ports.mail import MailLimits, UnparseableMail

OURS = "wijkalliantie@wijk.test"


def a_mail(n: int) -> bytes:
    return (
        f"From: Gemeente <ambtenaar{n}@gemeente.test>\r\nTo: {OURS}\r\n"
        f"Subject: [stuk] Notitie {n}\r\nMessage-ID: <n{n}@gemeente.test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Notitie nummer {n}.\r\n"
    ).encode()


def nested(depth: int) -> bytes:
    """MIME parts nested ``depth`` deep: slow enough to pass a tiny time limit."""
    head = (
        f"From: Gemeente <a@gemeente.test>\r\nTo: {OURS}\r\nSubject: [stuk] Diep\r\n"
        "Message-ID: <diep@gemeente.test>\r\nMIME-Version: 1.0\r\n"
    ).encode()
    opening = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i)
        for i in range(depth)
    )
    closing = b"".join(b"--b%d--\r\n" % i for i in reversed(range(depth)))
    return head + opening + b"Content-Type: text/plain\r\n\r\nDe notitie.\r\n" + closing


def children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of each live child process of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append((int(entry.name), cmdline))
    return found


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


@pytest.fixture
async def parser() -> AsyncIterator[MailParser]:
    parser = MailParser(our_address=OURS, limits=MailLimits(), workers=2, idle_seconds=0.5)
    yield parser
    await parser.close()


async def test_mails_are_parsed_in_parallel_by_at_most_the_configured_workers(
    parser: MailParser,
) -> None:
    parsed = await asyncio.gather(*(parser.parse(a_mail(n)) for n in range(12)))
    assert [p.subject for p in parsed] == [f"[stuk] Notitie {n}" for n in range(12)]
    assert len(parser.worker_pids()) == 2
    workers = [cmd for _, cmd in children(os.getpid()) if "worker_main" in cmd]
    assert len(workers) == 2
    assert not [cmd for _, cmd in children(os.getpid()) if "resource_tracker" in cmd]


async def test_idle_workers_exit_and_a_new_mail_starts_one_again(parser: MailParser) -> None:
    await parser.parse(a_mail(1))
    [pid] = parser.worker_pids()
    for _ in range(100):
        if not parser.worker_pids() and not alive(pid):
            break
        await asyncio.sleep(0.05)
    assert parser.worker_pids() == []
    assert not alive(pid)
    assert (await parser.parse(a_mail(2))).subject == "[stuk] Notitie 2"
    assert parser.replaced == 0


async def test_a_parse_past_the_time_limit_kills_its_worker_only(parser: MailParser) -> None:
    await parser.parse(a_mail(1))
    parser.timeout = 0.05
    with pytest.raises(UnparseableMail) as refused:
        await parser.parse(nested(800))
    assert refused.value.reason == "timeout: not parsed within 0.05 s"
    assert parser.replaced == 1
    parser.timeout = 20.0
    assert (await parser.parse(a_mail(2))).subject == "[stuk] Notitie 2"


async def test_a_worker_killed_mid_parse_is_an_unparseable_mail_and_is_replaced(
    parser: MailParser,
) -> None:
    await parser.parse(a_mail(1))
    parsing = asyncio.create_task(parser.parse(nested(3000)))
    await asyncio.sleep(0.2)
    for pid in parser.worker_pids():
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(UnparseableMail) as refused:
        await parsing
    assert refused.value.reason.startswith("parser_crashed: the worker exited with code -9")
    assert (await parser.parse(a_mail(2))).subject == "[stuk] Notitie 2"


async def test_the_sender_hint_is_read_in_a_worker_too(parser: MailParser) -> None:
    hint = await parser.sender_hint(a_mail(7))
    assert hint is not None
    assert (hint.address, hint.message_id) == ("ambtenaar7@gemeente.test", "<n7@gemeente.test>")
    assert parser.replaced == 0


async def test_ready_starts_one_worker_that_the_next_parse_uses(parser: MailParser) -> None:
    """The intake waits for ``ready`` before it charges a mail a parse attempt, so the
    worker's start-up is no mail's doing (tests/store/test_mail_reading.py)."""
    await parser.ready()
    [pid] = parser.worker_pids()
    await parser.ready()  # one waiting already: no second one
    assert parser.worker_pids() == [pid]
    assert (await parser.parse(a_mail(1))).subject == "[stuk] Notitie 1"
    assert parser.worker_pids() == [pid]
