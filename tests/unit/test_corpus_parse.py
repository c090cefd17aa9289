"""Every real-world mail of the imap-tools corpus parses, or is refused with a reason.

The corpus lives beside the clone in ``../shared/corpus/mail-imap-tools`` and
is never copied into the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.mail.parse import parse_mail
from daemon.ports.mail import MailLimits, ParsedMail, UnparseableMail

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "mail-imap-tools"
MAILS = sorted(CORPUS.rglob("*.eml")) if CORPUS.is_dir() else []
OURS = "wijkalliantie@bcop.example"


def corpus_id(path: Path) -> str:
    return str(path.relative_to(CORPUS))


def test_corpus_is_there(shared_dir: Path) -> None:
    """Fails in CI (skips elsewhere) without the corpus: no run may pass by reading less."""
    corpus = shared_dir / "corpus" / "mail-imap-tools"
    assert len(list(corpus.rglob("*.eml"))) >= 100


# Reasons for a quarantine; "parser_error" would be a bug of ours turned into one.
QUARANTINE_REASONS = ("empty", "no_headers", "not_a_mail", "too_deep")


@pytest.mark.parametrize("path", MAILS, ids=corpus_id)
def test_corpus_mail_parses_or_is_refused_with_a_reason(path: Path) -> None:
    raw = path.read_bytes()
    try:
        parsed = parse_mail(raw, our_address=OURS, limits=MailLimits())
    except UnparseableMail as refused:
        reason = refused.reason
    else:
        assert_sound(parsed)
        return
    assert reason.split(":")[0] in QUARANTINE_REASONS


def assert_sound(parsed: ParsedMail) -> None:
    """What the intake relies on holds for every parsed mail."""
    assert parsed.message_id.startswith("<")
    assert parsed.message_id.endswith(">")
    assert len(parsed.content_sha256) == 64
    assert parsed.from_address == parsed.from_address.lower()
    assert "\n" not in parsed.subject
    assert "\r" not in parsed.subject
    assert "\r" not in parsed.text
    assert "\x00" not in parsed.text
    for attachment in parsed.attachments:
        assert attachment.size == len(attachment.content) > 0
        assert "/" not in attachment.filename
        assert "\\" not in attachment.filename
        assert attachment.filename.strip(" .") == attachment.filename != ""
    assert len(parsed.attachments) <= MailLimits().max_attachments


EXPECTED = {
    # path: (from, subject, attachment names, inline count, (auto, list, bounce))
    "attachment_emails/attachment_nonascii_filename.eml": (
        "foo@example.com", "testing", ["ciële.txt"], 0, (False, False, False)
    ),
    "attachment_emails/attachment_with_base64_encoded_name.eml": (
        "xxxxxxxxx.xxxxxxx@gmail.com", "Fwd: Signed email causes file attachments",
        ["This is a test.pdf"], 0, (False, False, False)
    ),
    "attachment_emails/attachment_with_unquoted_name.eml": (
        "foo@example.com", "testing", ["This is a test.txt"], 0, (False, False, False)
    ),
    "attachment_emails/attachment_message_rfc822.eml": (
        "foo@example.com", "testing", ["ForwardedMessage.eml"], 0, (False, False, False)
    ),
    "multi_charset/japanese_attachment.eml": (
        "raasdnil@gmail.com", "testing", ["てすと.txt"], 0, (False, False, False)
    ),
    "attachment_inline1.eml": (
        "welcome@corp.mail.ru", None, [], 3, (False, False, False)
    ),
    "multipart_report_emails/report_530.eml": (
        None, "Returned mail: see transcript for details", [], 0, (True, False, True)
    ),
    "rfc6532/utf8_headers.eml": (
        "jdöe@mächine.example", "Säying Hello", [], 0, (False, False, False)
    ),
    "multi_charset/japanese_iso_2022.eml": (
        "raasdnil@gmail.com", "まみむめも", [], 0, (False, False, False)
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_mail_understood(name: str) -> None:
    """Spot checks: the hard shapes of the corpus come out as a person would read them."""
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"corpus not found at {CORPUS}")
    parsed = parse_mail(path.read_bytes(), our_address=OURS, limits=MailLimits())
    sender, subject, names, inline_count, flags = EXPECTED[name]
    actual = (
        sender if sender is None else parsed.from_address,
        subject if subject is None else parsed.subject,
        [a.filename for a in parsed.attachments],
        parsed.inline_count,
        (parsed.is_auto, parsed.is_bulk_or_list, parsed.is_bounce),
    )
    assert actual == (sender, subject, names, inline_count, flags)
