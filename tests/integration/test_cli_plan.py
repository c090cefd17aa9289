"""``meetings``, ``deadlines``, ``file`` and ``agenda`` through the real entry point."""

from __future__ import annotations

from pathlib import Path

from clitools import EXAMPLE, wijkbode, wijkbode_json

APRIL = "wijkalliantie-2027-04-06"  # Tue 6 April 2027 19:30 CEST, just after the spring change


def test_meetings_lists_all_three_series_through_2027(tmp_path: Path) -> None:
    meetings = wijkbode_json("meetings", state_dir=tmp_path)
    assert {m["series"] for m in meetings} == {"wijkalliantie", "bewonersbijeenkomst", "kerngroep"}
    assert set(meetings[0]) == {
        "id", "series", "title", "start", "end", "location", "status", "source",
    }  # fmt: skip
    assert {m["source"] for m in meetings} == {"config"}  # no planning calendar read
    starts = [m["start"] for m in meetings]
    assert starts == sorted(starts)
    assert starts[0].startswith("2027-01")
    assert starts[-1].startswith("2027-12")
    april = next(m for m in meetings if m["id"] == APRIL)
    assert (april["start"], april["end"]) == (
        "2027-04-06T19:30:00+02:00",
        "2027-04-06T21:30:00+02:00",
    )
    assert {m["status"] for m in meetings} == {"planned", "cancelled"}


def test_deadlines_give_every_rules_md_moment_of_a_wijkalliantie_meeting(tmp_path: Path) -> None:
    moments = wijkbode_json("deadlines", "--now", "2027-03-03T00:00", state_dir=tmp_path)
    april = sorted((m["at"], m["moment"]) for m in moments if m["meeting"] == APRIL)
    assert april == [
        ("2027-03-15T19:30:00+01:00", "reminder:agendapunt"),
        ("2027-03-16T19:30:00+01:00", "concept_agenda"),  # T-21d
        ("2027-03-16T19:30:00+01:00", "reminder:stuk"),
        ("2027-03-20T19:30:00+01:00", "reminder:agendapunt"),
        ("2027-03-21T19:30:00+01:00", "reminder:stuk"),
        ("2027-03-22T19:30:00+01:00", "agendapunt"),  # T-15d, wall clock kept across DST
        ("2027-03-23T19:30:00+01:00", "reminder:ter_kennisgeving"),
        ("2027-03-23T19:30:00+01:00", "stuk"),  # T-14d: 18:30 UTC, not 17:30
        ("2027-03-28T19:30:00+02:00", "reminder:actualiteit"),
        ("2027-03-28T19:30:00+02:00", "reminder:ter_kennisgeving"),
        ("2027-03-30T19:30:00+02:00", "ter_kennisgeving"),  # T-7d
        ("2027-04-02T19:30:00+02:00", "reminder:actualiteit"),
        ("2027-04-04T19:30:00+02:00", "actualiteit"),  # T-48h exact
    ]


def test_deadlines_are_sorted_and_include_publication_moments(tmp_path: Path) -> None:
    moments = wijkbode_json("deadlines", "--now", "2027-03-03T00:00", state_dir=tmp_path)
    assert [m["at"] for m in moments] == sorted(m["at"] for m in moments)
    assert all(m["at"] >= "2027-03-03" for m in moments)
    may = {
        (m["moment"], m["at"]) for m in moments if m["meeting"] == "bewonersbijeenkomst-2027-05-13"
    }
    assert may == {
        ("announce", "2027-04-15T19:00:00+02:00"),  # T-28d
        ("folder", "2027-04-29T19:00:00+02:00"),  # T-14d
        ("reminder:meeting", "2027-05-11T19:00:00+02:00"),  # T-2d
    }
    kerngroep = {m["moment"] for m in moments if m["series"] == "kerngroep"}
    assert kerngroep == {"reminder:meeting"}


def test_a_stuk_exactly_at_its_deadline_is_on_time(tmp_path: Path) -> None:
    filed = wijkbode_json(
        "file",
        "--kind",
        "stuk",
        "--title",
        "Begroting",
        "--from",
        "jan@amsterdam.nl",
        "--at",
        "2027-03-23T19:30:00+01:00",
        state_dir=tmp_path,
    )
    assert {k: v for k, v in filed.items() if k != "item"} == {
        "meeting": APRIL,
        "late": False,
        "decision_ready": True,
        "status": "filed",
    }


def test_a_stuk_one_second_late_moves_to_the_next_meeting_niet_besluitrijp(tmp_path: Path) -> None:
    filed = wijkbode_json(
        "file",
        "--kind",
        "stuk",
        "--title",
        "Begroting",
        "--from",
        "jan@amsterdam.nl",
        "--at",
        "2027-03-23T19:30:01+01:00",
        state_dir=tmp_path,
    )
    assert {k: v for k, v in filed.items() if k != "item"} == {
        "meeting": "wijkalliantie-2027-05-18",
        "late": True,
        "decision_ready": False,
        "status": "filed",
    }


def test_agenda_shows_items_in_agenda_order_with_status(tmp_path: Path) -> None:
    at = "2027-03-10T12:00"
    stuk = wijkbode_json(
        "file",
        "--kind",
        "stuk",
        "--title",
        "Stuk A",
        "--from",
        "a@ymere.nl",
        "--at",
        at,
        state_dir=tmp_path,
    )
    punt = wijkbode_json(
        "file",
        "--kind",
        "agendapunt",
        "--title",
        "Punt B",
        "--from",
        "buurman@gmail.example",
        "--at",
        at,
        state_dir=tmp_path,
    )
    agenda = wijkbode_json("agenda", APRIL, state_dir=tmp_path)
    assert agenda["meeting"] == APRIL
    assert [(i["id"], i["kind"], i["status"], i["submitter"]) for i in agenda["items"]] == [
        (punt["item"], "agendapunt", "awaiting_acceptance", "buurman@gmail.example"),
        (stuk["item"], "stuk", "filed", "a@ymere.nl"),
    ]
    assert agenda["items"][1]["received_at"] == "2027-03-10T12:00:00+01:00"
    assert set(agenda["items"][0]) == {
        "id",
        "kind",
        "title",
        "submitter",
        "received_at",
        "late",
        "decision_ready",
        "status",
        "documents",
        "possibly_forged",
    }
    assert (agenda["items"][0]["documents"], agenda["items"][0]["possibly_forged"]) == ([], None)


def test_agenda_of_an_unknown_meeting_is_a_clear_error(tmp_path: Path) -> None:
    wijkbode_json("file", "--kind", "stuk", "--title", "Iets", state_dir=tmp_path)
    result = wijkbode("--config", str(EXAMPLE), "--state-dir", str(tmp_path), "agenda", "nope")
    assert result.returncode == 2
    assert "onbekende vergadering 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_time_is_a_clear_error(tmp_path: Path) -> None:
    result = wijkbode(
        "--config",
        str(EXAMPLE),
        "--state-dir",
        str(tmp_path),
        "file",
        "--kind",
        "stuk",
        "--title",
        "x",
        "--at",
        "gisteren",
    )
    assert (result.returncode, "Traceback" in result.stderr) == (2, False)
    assert "--at: 'gisteren' is geen ISO 8601-tijdstip" in result.stderr


def test_human_output_is_dutch_with_dutch_dates(tmp_path: Path) -> None:
    result = wijkbode(
        "--config",
        str(EXAMPLE),
        "--state-dir",
        str(tmp_path),
        "file",
        "--kind",
        "agendapunt",
        "--title",
        "Groen",
        "--at",
        "2027-03-22T19:30:01",
    )
    assert result.returncode == 0, result.stderr
    assert "Te laat voor de vergadering van dinsdag 6 april 2027, 19:30" in result.stdout
    assert "Vergadering: Wijkalliantie, dinsdag 18 mei 2027, 19:30" in result.stdout


async def test_a_cli_filing_is_queued_for_the_core_room(tmp_path: Path) -> None:
    from daemon.store import Store

    filed = wijkbode_json(
        "file", "--kind", "stuk", "--title", "<b>Begroting</b> @room", "--from", "jan@amsterdam.nl",
        "--at", "2027-03-10T12:00", state_dir=tmp_path,
    )  # fmt: skip
    store = await Store.open(tmp_path)
    try:
        async with store.reading() as tx:
            [entry] = await tx.waiting_feed_entries()
    finally:
        await store.close()
    assert (entry.key, entry.item_id) == (f"item/{filed['item']}/post", filed["item"])
    assert "<b>Begroting" not in entry.post.html
    assert "&lt;b&gt;Begroting&lt;/b&gt; @\u2060room" in entry.post.html
