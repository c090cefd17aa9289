"""A valid configuration becomes the right frozen dataclasses, with RULES.md's defaults."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from daemon.config import Config, MailLimits, parse_config
from daemon.errors import ConfigError
from daemon.model import Kind, MeetingStatus, Offset, SeriesId
from daemon.rules import defaults

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
CONFIG_FILE = Path("/srv/wijkbode/wijkbode.toml")

MINIMAL = """\
[series.wijkalliantie]
[series.wijkalliantie.plan]
dates = [2027-04-06T19:30:00]
"""


def parse(text: str, state_dir_override: Path | None = None) -> Config:
    return parse_config(text, CONFIG_FILE, state_dir_override=state_dir_override)


def test_minimal_config_takes_every_default() -> None:
    config = parse(MINIMAL)
    assert config.timezone == AMSTERDAM
    assert config.language == "nl"
    assert config.state_dir == Path("/srv/wijkbode/state")
    assert config.default_series == "wijkalliantie"
    assert config.agreements.reminders == defaults.AGREEMENT_REMINDERS
    assert (config.matrix, config.mail, config.caldav, config.http) == (None, None, None, None)
    series = config.series[SeriesId("wijkalliantie")].series
    assert series.rules == defaults.WIJKALLIANTIE
    assert (series.title, series.public, series.default_location) == ("Wijkalliantie", False, "")
    assert series.default_duration == timedelta(hours=2)


@pytest.mark.parametrize(
    "series_id", ["wijkalliantie", "bewonersbijeenkomst", "kerngroep", "buurtfeest"]
)
def test_series_without_deadlines_table_gets_rules_md(series_id: str) -> None:
    text = MINIMAL + f"[series.{series_id}]\n" if series_id != "wijkalliantie" else MINIMAL
    config = parse(text)
    assert config.series[SeriesId(series_id)].series.rules == defaults.rules_for(series_id)


def test_deadlines_override_one_moment_and_switch_another_off() -> None:
    config = parse(
        MINIMAL
        + '[series.wijkalliantie.deadlines]\nstuk = "10d"\nactualiteit = false\n'
        + 'deadline_reminders = ["3d"]\nannounce = "30d"\n'
    )
    rules = config.series[SeriesId("wijkalliantie")].series.rules
    expected = dataclasses.replace(
        defaults.WIJKALLIANTIE,
        deadlines={
            Kind.AGENDAPUNT: Offset.parse("15d"),
            Kind.STUK: Offset.parse("10d"),
            Kind.TER_KENNISGEVING: Offset.parse("7d"),
        },
        deadline_reminders=(Offset.parse("3d"),),
        announce=Offset.parse("30d"),
    )
    assert rules == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2h", timedelta(hours=2)),
        ("90m", timedelta(minutes=90)),
        ("2h30m", timedelta(hours=2, minutes=30)),
    ],
)
def test_duration_in_hours_and_minutes(text: str, expected: timedelta) -> None:
    config = parse(
        MINIMAL.replace(
            "[series.wijkalliantie]\n", f'[series.wijkalliantie]\nduration = "{text}"\n'
        )
    )
    assert config.series[SeriesId("wijkalliantie")].series.default_duration == expected


def test_top_level_options_and_relative_state_dir() -> None:
    config = parse(
        'timezone = "Europe/London"\nlanguage = "en"\nstate_dir = "data/state"\n'
        'default_series = "kerngroep"\n' + MINIMAL + "[series.kerngroep]\n"
    )
    assert (config.timezone, config.language) == (ZoneInfo("Europe/London"), "en")
    assert config.state_dir == Path("/srv/wijkbode/data/state")
    assert config.default_series == "kerngroep"


def test_state_dir_override_wins_over_the_file() -> None:
    config = parse('state_dir = "/var/lib/wijkbode"\n' + MINIMAL, Path("/tmp/elders"))
    assert config.state_dir == Path("/tmp/elders")


def test_plan_becomes_aware_local_times() -> None:
    config = parse(
        MINIMAL
        + "[series.kerngroep]\n[series.kerngroep.plan]\nstart = 2027-03-01T20:00:00\n"
        + 'rrule = "FREQ=MONTHLY;BYDAY=1MO;COUNT=2"\n'
        + "[[series.kerngroep.plan.moved]]\nfrom = 2027-04-05\nto = 2027-04-12T19:00:00\n"
        + 'location = "Elders"\n'
    )
    plan = config.series[SeriesId("kerngroep")].plan
    assert plan.first_start == datetime(2027, 3, 1, 20, 0, tzinfo=AMSTERDAM)
    assert plan.moved[0].start == datetime(2027, 4, 12, 19, 0, tzinfo=AMSTERDAM)
    meetings = [m for m in config.meetings() if m.series == "kerngroep"]
    assert [(m.id, m.start.isoformat(), m.location) for m in meetings] == [
        ("kerngroep-2027-03-01", "2027-03-01T20:00:00+01:00", ""),
        ("kerngroep-2027-04-05", "2027-04-12T19:00:00+02:00", "Elders"),
    ]


def test_meetings_of_all_series_sorted_and_limited_by_horizon() -> None:
    config = parse(
        MINIMAL + "[series.kerngroep]\n[series.kerngroep.plan]\nstart = 2027-03-01T20:00:00\n"
        'rrule = "FREQ=MONTHLY;BYDAY=1MO"\ncancelled = [2027-04-05]\n'
    )
    meetings = config.meetings(horizon_end=date(2027, 5, 3))
    assert [(m.id, m.status) for m in meetings] == [
        ("kerngroep-2027-03-01", MeetingStatus.PLANNED),
        ("kerngroep-2027-04-05", MeetingStatus.CANCELLED),
        ("wijkalliantie-2027-04-06", MeetingStatus.PLANNED),
        ("kerngroep-2027-05-03", MeetingStatus.PLANNED),
    ]


def test_partners_are_lower_case_and_match_exact_addresses_and_domains() -> None:
    config = parse(
        MINIMAL
        + '[[partners]]\nname = "Gemeente"\ndomains = ["Amsterdam.NL"]\n'
        + '[[partners]]\nname = "Buurtwerk"\naddresses = ["Info@Buurtwerk.example"]\n'
    )
    assert [(p.name, p.addresses, p.domains) for p in config.partners] == [
        ("Gemeente", (), ("amsterdam.nl",)),
        ("Buurtwerk", ("info@buurtwerk.example",), ()),
    ]
    gemeente, buurtwerk = config.partners
    assert config.partner_for("J.Jansen@amsterdam.nl") == gemeente
    assert config.partner_for("info@buurtwerk.example") == buurtwerk
    assert config.partner_for("iemand@buurtwerk.example") is None
    assert config.partner_for("iemand@noord.amsterdam.nl") is None


def test_mail_section_defaults() -> None:
    config = parse(
        MINIMAL + '[mail]\naddress = "Wijkbode@Wijk.test"\n'
        '[mail.imap]\nhost = "127.0.0.1"\nport = 1143\nsecurity = "none"\nusername = "w"\n'
        'password_env = "IMAP_PW"\n[mail.smtp]\nhost = "localhost"\nsecurity = "none"\n'
        "[mail.limits]\nmax_attachments = 3\n"
    )
    assert config.mail is not None
    assert config.mail.address == "wijkbode@wijk.test"
    imap, smtp = config.mail.imap, config.mail.smtp
    assert (imap.port, imap.security, imap.folder, imap.processed_folder) == (
        1143,
        "none",
        "INBOX",
        "Wijkbode/Verwerkt",
    )
    assert (imap.quarantine_folder, imap.idle_renew_seconds, imap.poll_seconds) == (
        "Wijkbode/Quarantaine",
        240,
        60,
    )
    assert imap.password is not None
    assert imap.password.env == "IMAP_PW"
    assert (smtp.port, smtp.security, smtp.username, smtp.password) == (587, "none", None, None)
    assert config.mail.limits == dataclasses.replace(MailLimits(), max_attachments=3)
    assert MailLimits().max_attachment_bytes == 20 * 1024 * 1024


def test_matrix_caldav_and_http_sections() -> None:
    config = parse(
        MINIMAL
        + '[matrix]\nhomeserver = "http://127.0.0.1:8008/"\nuser_id = "@wijkbode:localhost"\n'
        'access_token_file = "secrets/token"\ncore_room = "#kern:localhost"\n'
        'admins = ["@ria:localhost"]\n'
        '[caldav]\nurl = "https://dav.wijk.test/cal"\ncalendar = "Wijk"\n'
        '[http]\nlisten = "[::1]:9000"\n'
    )
    assert config.matrix is not None
    assert config.caldav is not None
    assert config.http is not None
    assert config.matrix.homeserver == "http://127.0.0.1:8008"
    assert config.matrix.access_token is not None
    assert config.matrix.access_token.file == Path("/srv/wijkbode/secrets/token")
    assert (config.matrix.device_name, config.matrix.digest_threshold) == ("Wijkbode", 5)
    assert config.matrix.admins == ("@ria:localhost",)
    assert (config.caldav.calendar, config.caldav.password) == ("Wijk", None)
    assert (config.http.host, config.http.port, config.http.public_url) == ("::1", 9000, None)


def test_http_metrics_are_off_unless_switched_on() -> None:
    # Security finding 6: a fresh install shows no counts; the operator turns them on.
    off = parse(MINIMAL + '[http]\nlisten = "127.0.0.1:9000"\n')
    on = parse(MINIMAL + '[http]\nlisten = "127.0.0.1:9000"\nmetrics = true\n')
    assert on.http is not None
    assert off.http is not None
    assert (on.http.metrics, off.http.metrics) == (True, False)


MAIL = (
    '[mail]\naddress = "wijkbode@wijk.test"\n'
    '[mail.imap]\nhost = "127.0.0.1"\nsecurity = "none"\nusername = "w"\npassword_env = "PW"\n'
    '[mail.smtp]\nhost = "localhost"\nsecurity = "none"\n'
)


def test_receipts_outside_partners_default_to_30_an_hour_and_0_is_no_limit() -> None:
    default = parse(MINIMAL + MAIL)
    off = parse(MINIMAL + MAIL + "[mail.limits]\nreceipts_per_hour_outside_partners = 0\n")
    assert default.mail is not None
    assert off.mail is not None
    assert default.mail.limits.receipts_per_hour_outside_partners == 30
    assert off.mail.limits.receipts_per_hour_outside_partners == 0
    # The other limits still need at least 1.
    with pytest.raises(ConfigError):
        parse(MINIMAL + MAIL + "[mail.limits]\nreceipts_per_sender_per_hour = 0\n")
