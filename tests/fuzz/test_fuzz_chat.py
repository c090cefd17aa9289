"""The chat command parser on any message: ``None`` (conversation) or one request, never an
exception; a wrong command's answer renders, bilingual and bounded, whatever was typed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fuzz_settings import FUZZ
from hypothesis import example, given
from hypothesis import strategies as st

from daemon.chat.afspraak import Mention, RecordAgreement, pills
from daemon.chat.parsing import (
    COMMANDS,
    BadCommand,
    BadFiling,
    UnknownCommand,
    parse_request,
)
from daemon.chat.replies import bad_filing_reply, unknown_command_reply, usage_reply
from daemon.rules.names import Names

TZ = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2027, 3, 1, 10, 0, tzinfo=TZ)
WORDS = [name for spec in COMMANDS for name in (spec.name, *spec.aliases)]
# Latin letters and the Cyrillic and other look-alikes a forged command would use.
CONFUSABLE = str.maketrans({"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "k": "\u212a"})
FORMAT_ATTACKS = ["{0}", "{}", "%s%s%n", "{__class__}", "{word!r:>99999}", "%(x)s", "\\N{x}"]
ARGS = (
    st.text(max_size=200)
    | st.sampled_from(FORMAT_ATTACKS)
    | st.integers(0, 200_000).map(lambda n: "x" * n)
    | st.lists(st.sampled_from([*FORMAT_ATTACKS, "WB-1", "#0", "A-99999999999", "kerngroep",
                                "2027-02-30", "volgende week", "@jan", " ", "\n", "\x00"]),
               max_size=20).map(" ".join)
)  # fmt: skip


@st.composite
def command(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(WORDS) | st.text(max_size=40))
    if draw(st.booleans()):
        word = word.translate(CONFUSABLE)
    if draw(st.booleans()):
        word = word.upper()
    prefix = draw(st.sampled_from(["!", "!", "! ", "!!", "> quoted\n\n!", "*!", "📌 !"]))
    return f"{prefix}{word} {draw(ARGS)}"


@st.composite
def filing(draw: st.DrawFn) -> str:
    word = draw(
        st.sampled_from(["Agendapunt", "stuk", "TK", "afspraak", "agreement", "Actualiteit"])
    )
    flag = draw(st.sampled_from(["", "(direct)", "(" + "x" * 40 + ")", "()", "(("]))
    return f"{word}{flag}: {draw(ARGS)}"


def check(body: str, mentions: tuple[Mention, ...] = (), members: Names | None = None) -> None:
    request = parse_request(
        body, received_at=NOW, known_series=("wijkalliantie",), mentions=mentions, members=members
    )
    if isinstance(request, BadCommand):
        reply = usage_reply(request.spec.usage, request.problem, TZ)
    elif isinstance(request, UnknownCommand):
        reply = unknown_command_reply(request.word, request.suggestion, TZ)
    elif isinstance(request, BadFiling):
        reply = bad_filing_reply(request.problem, TZ)
    else:
        if isinstance(request, RecordAgreement):
            assert len(request.what) <= 1000
        return
    assert reply.body
    assert reply.html
    assert len(reply.body) < 4000  # whatever was typed, the answer does not echo it whole


@FUZZ
@given(command() | filing() | st.text(max_size=500))
@example("!agenda " + "{0}" * 10_000)
@example("!аgenda")  # Cyrillic а: not a command, ordinary conversation
@example("!\u212alaar A-1")  # the Kelvin sign folds to k
@example("!verplaats WB-1 " + "x" * 100_000)
@example("afspraak: " + "@jan " * 2_000 + "voor " * 2_000)
def test_any_message(body: str) -> None:
    check(body)


@FUZZ
@given(
    st.text(max_size=300),
    st.lists(st.tuples(st.text(max_size=30), st.text(max_size=30)), max_size=5),
    st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=6),
)
def test_agreement_with_mentions_and_members(
    what: str, mentioned: list[tuple[str, str]], display: dict[str, str]
) -> None:
    html = "".join(f'<a href="https://matrix.to/#/@{u}:x.example">{t}</a>' for t, u in mentioned)
    check(f"afspraak: {what}", pills(html), Names(display))


@FUZZ
@given(st.text(max_size=400))
@example("<![0")  # made HTMLParser assert: a crash on any such formatted body
@example('<a href="https://matrix.to/#/@%">')
@example("<a href='https://matrix.to/#/@a:b'><a href='https://matrix.to/#/@c:d'>x</a>")
def test_any_formatted_body(html: str) -> None:
    for mention in pills(html):
        assert mention.user_id.startswith("@")
