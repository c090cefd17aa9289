"""IMAP answers read without a server: INTERNALDATE, FETCH data, namespaces and folder names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.imap.fetch import parse_fetch, parse_internaldate, parse_sizes, uid_set
from connectors.imap.folders import FolderLayout, delimiter_from, personal_prefix
from daemon.ports.mailbox import RawMail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'INTERNALDATE "09-Mar-2027 10:15:00 +0100"', datetime(2027, 3, 9, 9, 15, tzinfo=UTC)),
        (b'INTERNALDATE " 9-mar-2027 10:15:00 -0230"', datetime(2027, 3, 9, 12, 45, tzinfo=UTC)),
        (
            b'INTERNALDATE "31-Dec-2026 23:59:59 +0000"',
            datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
        ),
        (b'INTERNALDATE "09-Mrt-2027 10:15:00 +0100"', None),  # Dutch month: not IMAP
        (b"UID 5", None),
    ],
)
def test_internaldate_is_read_as_utc(text: bytes, expected: datetime | None) -> None:
    assert parse_internaldate(text) == expected


def test_fetch_data_gives_uid_date_size_and_exact_bytes() -> None:
    raw = b"Subject: x\r\n\r\nbody\r\n"
    data: list[object] = [
        b"2 (FLAGS (\\Seen))",  # someone else's flag change, reported along the way
        (b'3 (UID 7 INTERNALDATE "09-Mar-2027 10:15:00 +0100" RFC822.SIZE 20 BODY[] {20}', raw),
        b")",
    ]

    assert parse_fetch(data, uidvalidity=42) == [
        RawMail(42, 7, datetime(2027, 3, 9, 9, 15, tzinfo=UTC), raw, 20)
    ]


def test_fetch_data_with_the_uid_after_the_literal() -> None:
    """Some servers put UID after the body; the rest of the line is read too."""
    data: list[object] = [
        (b'1 (INTERNALDATE "09-Mar-2027 10:15:00 +0000" BODY[] {3}', b"abc"),
        b" UID 9)",
    ]

    [mail] = parse_fetch(data, uidvalidity=1)

    assert (mail.uid, mail.size, mail.raw) == (9, 3, b"abc")


def test_raw_mail_repr_leaves_out_the_bytes() -> None:
    mail = RawMail(7, 3, datetime(2027, 3, 9, tzinfo=UTC), b"geheim" * 1000, 6000)
    assert "geheim" not in repr(mail)


@pytest.mark.parametrize(
    ("answer", "prefix"),
    [
        (b'(("" ".")) NIL NIL', ""),
        (b'(("INBOX." ".")) NIL (("#shared." "."))', "INBOX."),
        (b'(("" "/")("#mh/" "/")) NIL NIL', ""),
        (b"NIL NIL NIL", ""),
    ],
)
def test_personal_namespace_prefix(answer: bytes, prefix: str) -> None:
    assert personal_prefix(answer) == prefix


@pytest.mark.parametrize(
    ("layout", "name", "server_name", "levels"),
    [
        (
            FolderLayout("."),
            "Wijkbode/Verwerkt",
            "Wijkbode.Verwerkt",
            ["Wijkbode", "Wijkbode.Verwerkt"],
        ),
        (
            FolderLayout("/"),
            "Wijkbode/Verwerkt",
            "Wijkbode/Verwerkt",
            ["Wijkbode", "Wijkbode/Verwerkt"],
        ),
        (
            FolderLayout(".", "INBOX."),
            "Wijkbode/Quarantaine",
            "INBOX.Wijkbode.Quarantaine",
            ["INBOX.Wijkbode", "INBOX.Wijkbode.Quarantaine"],
        ),
        (FolderLayout(".", "INBOX."), "inbox", "INBOX", []),  # INBOX always exists
        (FolderLayout(None), "Wijkbode/Verwerkt", "Wijkbode/Verwerkt", ["Wijkbode/Verwerkt"]),
    ],
)
def test_our_folder_names_in_the_server_layout(
    layout: FolderLayout, name: str, server_name: str, levels: list[str]
) -> None:
    assert layout.server_name(name) == server_name
    assert layout.levels(server_name) == levels


def test_listed_delimiter_nil_means_flat() -> None:
    assert [delimiter_from(d) for d in (".", "NIL", "", None)] == [".", None, None, None]


@pytest.mark.parametrize(
    ("uids", "expected"),
    [
        ([1], "1"),
        ([3, 1, 2], "1:3"),
        ([1, 2, 3, 7, 9, 10], "1:3,7,9:10"),
        ([5, 5, 6], "5:6"),
        ([], ""),
    ],
)
def test_a_uid_set_collapses_runs(uids: list[int], expected: str) -> None:
    assert uid_set(uids) == expected


def test_sizes_are_read_per_uid_from_a_fetch_answer() -> None:
    data = [b"1 (UID 4 RFC822.SIZE 1200)", b"2 (RFC822.SIZE 99 UID 7)", b"* 3 EXISTS"]
    assert parse_sizes(data) == {4: 1200, 7: 99}
