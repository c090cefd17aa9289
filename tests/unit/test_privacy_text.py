"""Forgetting a person in stored text, and the [privacy] retention setting."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.cli.commands_privacy import years_before
from daemon.config import parse_config
from daemon.errors import ConfigError
from daemon.rules.privacy import (
    address_pattern,
    forget_in,
    names_beside,
    next_pseudonym,
    search_key,
)

ADDRESS = "jozefien.bakhuizen@buurt.test"


def test_the_address_is_found_however_wijkbode_wrote_it() -> None:
    pattern = address_pattern(ADDRESS)
    assert pattern.search("Van: Jozefien.Bakhuizen@BUURT.test")
    assert pattern.search("Van: jozefien.bakhuizen@\u2060buurt.test")  # safe_text's joiner
    assert pattern.search(json.dumps("jozefien.bakhuizen@\u2060buurt.test"))  # escaped
    assert pattern.search("Van: jozefien.bakhuizen@buur…")  # a shortened line
    assert not pattern.search("jozefien.bakhuizen@buurt.test.example")  # another address
    assert not pattern.search("ajozefien.bakhuizen@buurt.test")
    assert pattern.search(f"<{ADDRESS}>, en")


def test_names_beside_the_address_are_found() -> None:
    text = 'Van: "Bakhuizen, J." <jozefien.bakhuizen@buurt.test>; Jozefien B <' + ADDRESS + ">"
    assert names_beside(ADDRESS, text) == {"Bakhuizen, J.", "Jozefien B"}


def test_forget_replaces_address_and_names_and_keeps_the_rest() -> None:
    text = f"Van: Jozefien Bakhuizen <{ADDRESS}>\nGroet, Jozefien Bakhuizen (Jozefienstraat 3)"
    forgotten = forget_in(text, ADDRESS, {"Jozefien Bakhuizen"}, "verwijderd-4")
    assert forgotten == "Van: verwijderd-4\nGroet, verwijderd-4 (Jozefienstraat 3)"


def test_forget_in_json_keeps_it_valid() -> None:
    payload = json.dumps({"to": [ADDRESS], "text": "Beste José Álvarez,"})
    forgotten = forget_in(payload, ADDRESS, {"José Álvarez"}, "verwijderd-1")
    assert json.loads(forgotten) == {"to": ["verwijderd-1"], "text": "Beste verwijderd-1,"}


def test_each_person_gets_the_next_pseudonym() -> None:
    assert next_pseudonym([]) == "verwijderd-1"
    assert next_pseudonym(["verwijderd-2", "iemand@x", "verwijderd-10"]) == "verwijderd-11"


def test_the_search_key_is_a_piece_every_form_contains() -> None:
    assert search_key(ADDRESS) == "jozefien.bakhuizen"
    assert search_key("@jan:matrix.buurt.test") == "jan:matrix.buurt.test"


def test_years_before_keeps_the_calendar_day() -> None:
    assert years_before(datetime(2030, 5, 3, tzinfo=UTC), 3) == datetime(2027, 5, 3, tzinfo=UTC)
    assert years_before(datetime(2028, 2, 29, tzinfo=UTC), 1) == datetime(2027, 2, 28, tzinfo=UTC)


BASE = """
[series.wijkalliantie.plan]
dates = [2027-01-19T19:30:00]
"""


def test_the_retention_setting_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "wijkbode.toml"
    assert parse_config(BASE, path).privacy.keep_documents_years is None
    kept = parse_config(BASE + "[privacy]\nkeep_documents_years = 7\n", path)
    assert kept.privacy.keep_documents_years == 7
    with pytest.raises(ConfigError, match="keep_documents_years"):
        parse_config(BASE + "[privacy]\nkeep_documents_years = 0\n", path)
    with pytest.raises(ConfigError, match="keep_documentz_years"):
        parse_config(BASE + "[privacy]\nkeep_documentz_years = 3\n", path)
