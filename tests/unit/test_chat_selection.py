"""``!weiger`` of several items (security finding 1, mail floods): lists and ranges as a Dutch
member types them, the one-item form unchanged, clear refusals, and the digest's commands
read back as exactly the items they name. Pure parsing and wording, no store."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from daemon.chat.parsing import COMMANDS, BadCommand, RejectItem, RejectItems, parse_request
from daemon.chat.rejections import Rejections, rejections_reply
from daemon.chat.selection import RANGE_BACKWARDS, RANGE_UNCLEAR, TOO_MANY
from daemon.i18n import Translator
from daemon.model import ItemId
from daemon.publish.bulk_reject import MAX_ITEMS_PER_COMMAND, reject_commands, runs, runs_text

AMS = ZoneInfo("Europe/Amsterdam")
AT = datetime(2027, 3, 10, 12, 0, tzinfo=AMS)
WEIGER = next(spec for spec in COMMANDS if spec.name == "weiger")


def parse(text: str) -> object:
    return parse_request(text, received_at=AT)


def named(text: str) -> tuple[list[int], str]:
    """The items a ``!weiger`` of several names, and its reason."""
    request = parse(text)
    assert isinstance(request, RejectItems), request
    return [int(n) for n in request.items.ids()], request.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!weiger 12", RejectItem(ItemId(12))),
        ("!weiger WB-12", RejectItem(ItemId(12))),
        ("!reject #12 reclame", RejectItem(ItemId(12), "reclame")),
        ("!weiger wb12 dubbel ingestuurd", RejectItem(ItemId(12), "dubbel ingestuurd")),
        ("!weiger 12 tot ziens", RejectItem(ItemId(12), "tot ziens")),
        ("!weiger WB-12 - reclame", RejectItem(ItemId(12), "- reclame")),
    ],
)
def test_one_item_is_rejected_as_before(text: str, expected: RejectItem) -> None:
    assert expected == parse(text)


@pytest.mark.parametrize(
    ("text", "ids", "reason"),
    [
        ("!weiger WB-12 WB-15 WB-20..WB-24 spam", [12, 15, 20, 21, 22, 23, 24], "spam"),
        ("!weiger WB-20 t/m WB-23", [20, 21, 22, 23], ""),
        ("!weiger WB-20 T/M WB-23 reclame", [20, 21, 22, 23], "reclame"),
        ("!weiger WB-20 tm WB-22", [20, 21, 22], ""),
        ("!weiger 20 tot en met 22", [20, 21, 22], ""),
        ("!weiger WB-20-WB-22", [20, 21, 22], ""),
        ("!weiger 20-22", [20, 21, 22], ""),
        ("!weiger WB-20 – WB-22", [20, 21, 22], ""),
        ("!reject WB-20 to WB-22 spam", [20, 21, 22], "spam"),
        ("!reject #20 through #22", [20, 21, 22], ""),
        ("!weiger WB-12, WB-15; WB-17, reclame", [12, 15, 17], "reclame"),
        ("!weiger 12 13", [12, 13], ""),
        ("!weiger WB-20 t/m WB-20", [20], ""),  # a range of one is still the list form
        # Overlaps and repeats count once, in order.
        ("!weiger WB-5 WB-1 t/m WB-6 WB-3", [1, 2, 3, 4, 5, 6], ""),
        ("!weiger WB-1 t/m WB-3\nspam uit Rusland", [1, 2, 3], "spam uit Rusland"),
    ],
)
def test_several_items_as_a_list_and_ranges(text: str, ids: list[int], reason: str) -> None:
    assert (ids, reason) == named(text)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("!weiger WB-80 t/m WB-20", RANGE_BACKWARDS),
        ("!weiger WB-20 tot WB-80", RANGE_UNCLEAR),  # "tot" may or may not include WB-80
        ("!weiger WB-20 t/m", RANGE_UNCLEAR),  # cut short: not a reason "t/m" for WB-20
        ("!weiger WB-12 WB-20 t/m spam", RANGE_UNCLEAR),
        ("!weiger 1 t/m 501", TOO_MANY),
        ("!weiger WB-1 t/m WB-999999999", TOO_MANY),  # counted, never expanded
        ("!weiger", None),
        ("!weiger reclame", None),
        ("!weiger WB-x", None),
    ],
)
def test_numbers_that_cannot_be_read_as_meant_are_refused(text: str, problem: str | None) -> None:
    assert BadCommand(WEIGER, problem) == parse(text)


def test_the_limit_is_five_hundred_items_and_its_answer_says_so() -> None:
    assert MAX_ITEMS_PER_COMMAND == 500
    assert len(named("!weiger 1 t/m 500")[0]) == 500
    assert len(named("!weiger 1 t/m 499 1000")[0]) == 500
    for language in ("nl", "en"):
        assert str(MAX_ITEMS_PER_COMMAND) in Translator(language)(TOO_MANY)


def test_runs_name_numbers_compactly() -> None:
    found = runs([7, 3, 4, 5, 9, 10, 3, 20])
    assert found == [(3, 5), (7, 7), (9, 10), (20, 20)]
    assert runs_text(found) == "WB-3 t/m WB-5, WB-7, WB-9, WB-10, WB-20"
    assert runs_text(found, joiner="to", limit=2) == "WB-3 to WB-5, WB-7, … (+3)"


@pytest.mark.parametrize("language", ["nl", "en"])
def test_a_digest_command_rejects_exactly_the_items_it_was_made_for(language: str) -> None:
    burst = [12, 15, *range(20, 81), 99]
    [command] = reject_commands(burst, language)
    word = {"nl": "!weiger", "en": "!reject"}[language]
    joiner = {"nl": "t/m", "en": "to"}[language]
    assert f"{word} WB-12 WB-15 WB-20 {joiner} WB-80 WB-99" == command
    assert (burst, "") == named(command)


def test_a_flood_beyond_the_limit_gets_commands_of_at_most_the_limit_each() -> None:
    flood = [*range(1, 1201), 1500]
    commands = reject_commands(flood)
    assert len(commands) == 3
    parts = [named(command)[0] for command in commands]
    assert [len(ids) for ids in parts] == [500, 500, 201]
    assert flood == [n for ids in parts for n in ids]


def test_one_answer_counts_the_rejected_and_names_the_skipped_and_why() -> None:
    done = Rejections(
        rejected=[ItemId(n) for n in range(20, 80)],
        notices=3,
        not_awaiting=[ItemId(15)],
        closed=[ItemId(12)],
        unknown=[ItemId(n) for n in range(80, 101)],
    )
    body = rejections_reply(done, AMS).body
    dutch, english = body.split("\n\n— English —\n")
    assert dutch.splitlines() == [
        "Geweigerd: 60 (WB-20 t/m WB-79).",
        "3 van de afzenders krijgen daarover een mail (alleen wie een ontvangstbevestiging kreeg).",
        "Overgeslagen, wacht niet (meer) op acceptatie: WB-15.",
        "Overgeslagen, al ingetrokken of geweigerd: WB-12.",
        "Overgeslagen, bestaat niet: WB-80 t/m WB-100.",
    ]
    assert english.splitlines()[0] == "Rejected: 60 (WB-20 to WB-79)."
    assert english.splitlines()[-1] == "Skipped, no such item: WB-80 to WB-100."


def test_an_answer_with_nothing_rejected_says_so_and_stays_short() -> None:
    scattered = [ItemId(n) for n in range(1, 200, 2)]  # 100 runs of one
    body = rejections_reply(Rejections(unknown=scattered), AMS).body
    assert body.startswith("Er is niets geweigerd.\nOvergeslagen, bestaat niet: WB-1, WB-3,")
    assert "… (+88)" in body
    assert len(body) < 600
