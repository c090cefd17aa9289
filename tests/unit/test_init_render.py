"""``wijkbode init``'s answers into a configuration ``load_config`` accepts; bad answers
are plain bilingual errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.cli.init_questions import normalised
from daemon.cli.init_render import render
from daemon.config import parse_config
from daemon.errors import ConfigError

ANSWERS = {
    "use_matrix": "yes",
    "homeserver": "https://matrix.wijk.test",
    "matrix_user": "@wijkbode:wijk.test",
    "matrix_password": "geheim",
    "core_room": "#kern:wijk.test",
    "announce_rooms": "#wijk:wijk.test, #buurt:wijk.test",
    "use_mail": "no",
    "use_caldav": "no",
    "use_http": "yes",
    "http_listen": "127.0.0.1:8181",
    "series_id": "bewoners",
    "series_title": 'Bewonersavond "De Meeuw"',
    "series_public": "no",
    "plan_dates": "2027-02-11T19:00",
    "plan_rrule": "FREQ=MONTHLY;INTERVAL=3;COUNT=4",
}


def test_the_rendered_file_is_a_valid_configuration(tmp_path: Path) -> None:
    text = render(ANSWERS)
    config = parse_config(text, tmp_path / "wijkbode.toml")
    assert config.default_series == "bewoners"
    assert config.series["bewoners"].series.title == 'Bewonersavond "De Meeuw"'
    assert len(config.meetings()) == 4
    assert config.matrix is not None
    assert config.matrix.announce_rooms == ("#wijk:wijk.test", "#buurt:wijk.test")
    assert config.matrix.password is not None
    assert config.matrix.password.file == tmp_path / "secrets" / "matrix-password"
    assert config.mail is None
    assert "geheim" not in text


def test_a_date_that_is_no_date_is_said_plainly() -> None:
    with pytest.raises(ConfigError, match=r"geen datum en tijd .*\(not a date and time"):
        render({**ANSWERS, "plan_dates": "volgende dinsdag"})


def test_an_unknown_answer_is_refused() -> None:
    with pytest.raises(ConfigError, match="onbekende vraag"):
        normalised({"imap_hots": "x"}, "answers.toml")


def test_answers_file_values_become_plain_answers() -> None:
    found = normalised(
        {"use_mail": False, "announce_rooms": ["#a:x", "#b:x"], "imap_port": 993}, "f"
    )
    assert found == {"use_mail": "no", "announce_rooms": "#a:x, #b:x", "imap_port": "993"}
