"""Every configuration mistake gives one clear message: file, line, key path, Dutch then English."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.config import checks, parse_config
from daemon.errors import ConfigError

# Lines 1-7; the cases below add lines from 8 on.
BASE = """\
timezone = "Europe/Amsterdam"

[series.wijkalliantie]
title = "Wijkalliantie"

[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00, 2027-05-18T19:30:00]
"""

KERNGROEP = """\
[series.kerngroep]
[series.kerngroep.plan]
start = 2027-01-04T20:00:00
rrule = "FREQ=MONTHLY;BYDAY=1MO;UNTIL=20271231T235959"
"""  # lines 8-11 when appended to BASE

MAIL = """\
[mail]
address = "wijkbode@wijk.test"
[mail.imap]
host = "imap.wijk.test"
username = "wijkbode"
password_env = "WIJKBODE_IMAP_PASSWORD"
[mail.smtp]
host = "smtp.wijk.test"
"""  # lines 8-15 when appended to BASE


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("wijkbode.toml"))
    return str(caught.value)


def test_base_is_valid() -> None:
    """The cases below break a configuration that is itself fine."""
    for extra in ("", KERNGROEP, MAIL):
        config = parse_config(BASE + extra, Path("wijkbode.toml"))
        assert "wijkalliantie" in config.series


@pytest.mark.parametrize(
    ("text", "expected_start", "expected_reason"),
    [
        pytest.param(
            BASE.replace("timezone =", "timezon ="),
            "wijkbode.toml:1: timezon: ",
            "onbekende sleutel 'timezon'; bedoelt u 'timezone'? (unknown key; did you mean",
            id="unknown-top-level-key",
        ),
        pytest.param(
            BASE + '[series.wijkalliantie.deadlines]\nstukk = "14d"\n',
            "wijkbode.toml:9: series.wijkalliantie.deadlines.stukk: ",
            "bedoelt u 'stuk'?",
            id="unknown-nested-key",
        ),
        pytest.param(
            BASE + "[matrx]\n",
            "wijkbode.toml:8: matrx: ",
            "bedoelt u 'matrix'?",
            id="unknown-section",
        ),
        pytest.param(
            BASE.replace('title = "Wijkalliantie"', 'public = "ja"'),
            "wijkbode.toml:4: series.wijkalliantie.public: ",
            "verwacht waar/onwaar (true/false), maar dit is tekst tussen aanhalingstekens "
            "(expected a boolean, got a quoted string)",
            id="wrong-type-bool",
        ),
        pytest.param(
            BASE.replace('title = "Wijkalliantie"', "title = 7"),
            "wijkbode.toml:4: series.wijkalliantie.title: ",
            "(expected a quoted string, got an integer)",
            id="wrong-type-string",
        ),
        pytest.param(
            BASE + "[series.wijkalliantie.plan.extra]\n",
            "wijkbode.toml:8: series.wijkalliantie.plan.extra: ",
            "onbekende sleutel 'extra'",
            id="unknown-nested-table",
        ),
        pytest.param(
            BASE + '[series.wijkalliantie.deadlines]\nstuk = "14x"\n',
            "wijkbode.toml:9: series.wijkalliantie.deadlines.stuk: ",
            "'14x' is geen geldige termijn; schrijf bijvoorbeeld '14d' of '48h' "
            "(not a valid offset",
            id="offset-14x",
        ),
        pytest.param(
            BASE + "[series.wijkalliantie.deadlines]\nstuk = 14\n",
            "wijkbode.toml:9: series.wijkalliantie.deadlines.stuk: ",
            "verwacht een termijn zoals '14d' of '48h', of false",
            id="offset-number",
        ),
        pytest.param(
            BASE + "[series.wijkalliantie.deadlines]\ndecision = false\n",
            "wijkbode.toml:9: series.wijkalliantie.deadlines.decision: ",
            "(expected an offset such as '14d' or '48h')",
            id="decision-cannot-be-off",
        ),
        pytest.param(
            BASE + '[series.wijkalliantie.deadlines]\ndeadline_reminders = ["7d", "2x"]\n',
            "wijkbode.toml:9: series.wijkalliantie.deadlines.deadline_reminders[2]: ",
            "'2x' is geen geldige termijn",
            id="offset-in-list",
        ),
        pytest.param(
            BASE + "exdates = [2027-02-30]\n",
            "wijkbode.toml:8: series.wijkalliantie.plan.exdates: ",
            "deze datum of tijd bestaat niet of is verkeerd geschreven "
            "(invalid TOML: Invalid date or datetime) [kolom/column",
            id="date-that-does-not-exist",
        ),
        pytest.param(
            BASE.replace('title = "Wijkalliantie"', 'title = "Wijkalliantie'),
            "wijkbode.toml:4: series.wijkalliantie.title: ",
            "(invalid TOML: ",
            id="unterminated-string",
        ),
        pytest.param(
            BASE + KERNGROEP.replace("FREQ=MONTHLY;BYDAY=1MO", "FREQ=SOMETIMES"),
            "wijkbode.toml:11: series.kerngroep.plan.rrule: ",
            "ongeldige RRULE",
            id="bad-rrule",
        ),
        pytest.param(
            BASE + KERNGROEP.replace("start = 2027-01-04T20:00:00\n", ""),
            "wijkbode.toml:10: series.kerngroep.plan.rrule: ",
            "een RRULE heeft 'start' nodig",
            id="rrule-without-start",
        ),
        pytest.param(
            BASE.replace('"Europe/Amsterdam"', '"Europe/Amsterdm"'),
            "wijkbode.toml:1: timezone: ",
            "onbekende tijdzone 'Europe/Amsterdm'",
            id="unknown-time-zone",
        ),
        pytest.param(
            BASE + "cancelled = [2027-04-13]\n",
            "wijkbode.toml:8: series.wijkalliantie.plan.cancelled[1]: ",
            "2027-04-13 staat niet in de jaarplanning van deze reeks "
            "(this date is not a meeting of the plan)",
            id="cancelled-not-in-plan",
        ),
        pytest.param(
            BASE + KERNGROEP + "exdates = [2027-02-02]\n",
            "wijkbode.toml:12: series.kerngroep.plan.exdates[1]: ",
            "2027-02-02 staat niet in de jaarplanning",
            id="exdate-not-in-plan",
        ),
        pytest.param(
            BASE
            + KERNGROEP
            + "[[series.kerngroep.plan.moved]]\nfrom = 2027-02-01\nto = 2027-02-08T20:00:00\n"
            + "[[series.kerngroep.plan.moved]]\nfrom = 2027-02-02\nto = 2027-02-09T20:00:00\n",
            "wijkbode.toml:16: series.kerngroep.plan.moved[2].from: ",
            "2027-02-02 staat niet in de jaarplanning",
            id="moved-not-in-plan",
        ),
        pytest.param(
            BASE.replace("2027-05-18T19:30:00", "2027-03-28T02:30:00"),
            "wijkbode.toml:7: series.wijkalliantie.plan.dates[2]: ",
            "2027-03-28 02:30 bestaat niet in Europe/Amsterdam",
            id="time-in-dst-gap",
        ),
        pytest.param(
            BASE.replace("2027-05-18T19:30:00", "2027-05-18T19:30:00+02:00"),
            "wijkbode.toml:7: series.wijkalliantie.plan.dates[2]: ",
            "schrijf een plaatselijke tijd zonder UTC-afwijking",
            id="datetime-with-offset",
        ),
        pytest.param(
            BASE.replace("2027-05-18T19:30:00", "2027-05-18"),
            "wijkbode.toml:7: series.wijkalliantie.plan.dates[2]: ",
            "verwacht een datum met tijd, maar dit is een datum",
            id="date-without-time",
        ),
        pytest.param(
            BASE + 'duration = "2 uur"\n',
            "wijkbode.toml:8: series.wijkalliantie.plan.duration: ",
            "onbekende sleutel",
            id="key-in-wrong-table",
        ),
        pytest.param(
            BASE.replace('title = "Wijkalliantie"', 'duration = "2 uur"'),
            "wijkbode.toml:4: series.wijkalliantie.duration: ",
            "'2 uur' is geen geldige duur",
            id="bad-duration",
        ),
        pytest.param(
            BASE.replace("timezone", 'default_series = "alliantie"\ntimezone'),
            "wijkbode.toml:1: default_series: ",
            "de reeks 'alliantie' staat niet in de configuratie",
            id="default-series-not-configured",
        ),
        pytest.param(
            BASE.replace('timezone = "Europe/Amsterdam"', 'language = "de"'),
            "wijkbode.toml:1: language: ",
            "kies 'nl' of 'en'",
            id="unknown-language",
        ),
        pytest.param(
            BASE + MAIL.replace('password_env = "WIJKBODE_IMAP_PASSWORD"', 'password = "hunter2"'),
            "wijkbode.toml:13: mail.imap.password: ",
            'een geheim staat nooit in de configuratie zelf; schrijf password_file = "/run/'
            'secrets/..." (een bestand met alleen het geheim) of password_env = "NAAM"',
            id="inline-password",
        ),
        pytest.param(
            BASE + MAIL + 'password_file = "/run/secrets/smtp"\n',
            "wijkbode.toml:14: mail.smtp.username: ",
            "een wachtwoord hoort bij een username",
            id="smtp-password-without-username",
        ),
        pytest.param(
            BASE + MAIL.replace('password_env = "WIJKBODE_IMAP_PASSWORD"', ""),
            "wijkbode.toml:10: mail.imap.password_file: ",
            "geef precies één van password_file/password_env of oauth2_token_file",
            id="imap-without-credentials",
        ),
        pytest.param(
            BASE + MAIL.replace('username = "wijkbode"', 'password_file = "x"'),
            "wijkbode.toml:13: mail.imap.password_env: ",
            "kies één van password_file en password_env",
            id="secret-file-and-env",
        ),
        pytest.param(
            BASE + MAIL + 'security = "ssl"\n',
            "wijkbode.toml:16: mail.smtp.security: ",
            "'ssl' kan hier niet; kies 'starttls', 'tls', 'none'",
            id="bad-security",
        ),
        pytest.param(
            BASE + MAIL + 'security = "none"\n',
            "wijkbode.toml:16: mail.smtp.security: ",
            "'none' (onversleuteld) mag alleen als de server op deze machine draait",
            id="security-none-not-loopback",
        ),
        pytest.param(
            BASE + MAIL + "port = 70000\n",
            "wijkbode.toml:16: mail.smtp.port: ",
            "poort 70000 bestaat niet",
            id="bad-port",
        ),
        pytest.param(
            BASE + MAIL.replace('"wijkbode@wijk.test"', '"wijkbode"'),
            "wijkbode.toml:9: mail.address: ",
            "'wijkbode' is geen geldig e-mailadres",
            id="bad-address",
        ),
        pytest.param(
            BASE + MAIL.split("[mail.smtp]")[0],
            "wijkbode.toml:8: mail.smtp: ",
            "[mail] heeft ook [mail.smtp] nodig",
            id="mail-without-smtp",
        ),
        pytest.param(
            BASE + MAIL + "[mail.limits]\nmax_attachments = 0\n",
            "wijkbode.toml:17: mail.limits.max_attachments: ",
            "0 is te klein; het minimum is 1",
            id="limit-zero",
        ),
        pytest.param(
            BASE + '[matrix]\nhomeserver = "http://matrix.wijk.test"\n[matrix]\n',
            "wijkbode.toml:10: ",
            "deze tabel staat er twee keer",
            id="table-twice",
        ),
        pytest.param(
            BASE + '[matrix]\nhomeserver = "http://matrix.wijk.test"\nuser_id = "@w:wijk.test"\n'
            'access_token_env = "TOKEN"\n',
            "wijkbode.toml:9: matrix.homeserver: ",
            "onversleuteld http mag alleen naar deze machine",
            id="matrix-plain-http",
        ),
        pytest.param(
            BASE + '[matrix]\nhomeserver = "https://matrix.wijk.test"\nuser_id = "@w:wijk.test"\n'
            'access_token_env = "TOKEN"\nannounce_rooms = ["wijk"]\n',
            "wijkbode.toml:12: matrix.announce_rooms[1]: ",
            "'wijk' is geen Matrix-kamer",
            id="matrix-bad-room",
        ),
        pytest.param(
            BASE + '[[partners]]\nname = "Ymere"\ndomains = ["ymere.nl"]\n'
            '[[partners]]\nname = "Gemeente"\ndomains = ["amsterdam"]\n',
            "wijkbode.toml:13: partners[2].domains[1]: ",
            "'amsterdam' is geen geldig domein",
            id="partner-bad-domain",
        ),
        pytest.param(
            BASE + '[[partners]]\ndomains = ["ymere.nl"]\n',
            "wijkbode.toml:8: partners[1].name: ",
            "deze sleutel is verplicht (this key is required)",
            id="partner-without-name",
        ),
        pytest.param(
            BASE + MAIL.replace("password_env", "pasword_env"),
            "wijkbode.toml:13: mail.imap.pasword_env: ",
            "onbekende sleutel 'pasword_env'; bedoelt u 'password_env'?",
            id="misspelt-secret-key-before-missing-secret",
        ),
        pytest.param(
            'default_serie = "kerngroep"\n' + BASE.replace("wijkalliantie", "kerngroep"),
            "wijkbode.toml:1: default_serie: ",
            "bedoelt u 'default_series'?",
            id="misspelt-key-before-semantic-check",
        ),
        pytest.param(
            BASE + '[[partners]]\nname = "Ymere"\n',
            "wijkbode.toml:9: partners[1].name: ",
            "partner 'Ymere' heeft geen addresses en geen domains",
            id="partner-without-addresses",
        ),
        pytest.param(
            BASE + '[http]\nlisten = "localhost"\n',
            "wijkbode.toml:9: http.listen: ",
            "'localhost' is geen adres:poort",
            id="http-listen-without-port",
        ),
        pytest.param(
            BASE.replace("[series.wijkalliantie]", "[series.Wijk_Alliantie]").replace(
                "[series.wijkalliantie.plan]", "[series.Wijk_Alliantie.plan]"
            ),
            "wijkbode.toml:3: series.Wijk_Alliantie: ",
            "'Wijk_Alliantie' is geen geldige naam voor een reeks",
            id="bad-series-id",
        ),
    ],
)
def test_mistake_gives_one_clear_message(
    text: str, expected_start: str, expected_reason: str
) -> None:
    message = error_of(text)
    assert message.startswith(expected_start), message
    assert expected_reason in message
    assert "\n" not in message


def test_missing_file_names_it_and_how_to_choose_another(tmp_path: Path) -> None:
    from daemon.config import load_config

    missing = tmp_path / "wijkbode.toml"
    with pytest.raises(ConfigError) as caught:
        load_config(missing)
    assert str(caught.value) == (
        f"{missing}: configuratiebestand niet gevonden; geef --config PAD of zet "
        "WIJKBODE_CONFIG (configuration file not found; pass --config PATH or set "
        "WIJKBODE_CONFIG)"
    )


def test_file_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    from daemon.config import load_config

    latin1 = tmp_path / "wijkbode.toml"
    latin1.write_bytes(BASE.replace("Wijkalliantie", "Wijkalliantié").encode("latin-1"))
    with pytest.raises(ConfigError) as caught:
        load_config(latin1)
    assert str(caught.value).startswith(f"{latin1}: het bestand is geen UTF-8")


@pytest.mark.parametrize(
    "room",
    ["!AbCdEf012345", "!old:localhost", "#kerngroep:wijk.test", "!x:[::1]:8448"],
)
def test_room_ids_with_and_without_server_and_aliases_are_accepted(room: str) -> None:
    """Room version 12 ids have no ':server' part; older ids and aliases do."""
    assert checks.matrix_room(room) == room


@pytest.mark.parametrize("room", ["wijk", "#wijk", "!a b", "@alice:wijk.test"])
def test_other_room_names_are_refused(room: str) -> None:
    with pytest.raises(ValueError, match="geen Matrix-kamer"):
        checks.matrix_room(room)
