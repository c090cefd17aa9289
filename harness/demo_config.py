"""The demo's world: names, the meeting plan around "now", and the ``wijkbode.toml`` for it.

The plan puts the alliance's meetings a few weeks out (RULES.md deadlines all
still ahead), and two meetings whose announcement and reminder fall a short
``lead`` after the start, so that with ``--speed`` they arrive while you watch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from harness.servers import MAIL_DOMAIN, Endpoints

TIMEZONE = ZoneInfo("Europe/Amsterdam")
MAIL_USER = "wijkalliantie"
ADDRESS = f"{MAIL_USER}@{MAIL_DOMAIN}"
BOT = "wijkbode"
ALICE = "alice"
CORE_ALIAS = "kerngroep"
ANNOUNCE_ALIAS = "wijk"
PARTNER = "secretariaat@ymere.nl"
RESIDENTS = (
    "bewoners@depunt.test"  # not a local domain: the relay captures it, as it does partners'
)
CALENDAR = "Wijkagenda"
CALDAV_USER = "wijkbode"
LOCATION = "Buurthuis De Meeuw, Meeuwenlaan 1"

# RULES.md: the announcement goes out 28 days ahead, the meeting reminder 2 days ahead.
ANNOUNCE_AHEAD = timedelta(days=28)
REMINDER_AHEAD = timedelta(days=2)
TUESDAY = 1


def room_alias(name: str, server_name: str) -> str:
    return f"#{name}:{server_name}"


def user_id(localpart: str, server_name: str) -> str:
    return f"@{localpart}:{server_name}"


@dataclass(frozen=True)
class DemoPlan:
    """Meeting starts as local wall-clock times, and when the quick moments fire."""

    wijkalliantie: tuple[datetime, datetime]
    bewonersbijeenkomst: datetime
    kerngroep: datetime

    @property
    def announce_at(self) -> datetime:
        """When the resident meeting's announcement is due."""
        return self.bewonersbijeenkomst - ANNOUNCE_AHEAD

    @property
    def reminder_at(self) -> datetime:
        """When the core group's meeting reminder is due."""
        return self.kerngroep - REMINDER_AHEAD


def make_plan(now: datetime, lead: timedelta) -> DemoPlan:
    """Meetings around ``now`` (aware): quick moments ``lead`` (+ a bit) from now.

    Times are whole five minutes, as a person would plan them; the alliance
    meets on Tuesdays at 19:30, the first at least 24 days out so every
    deadline (concept agenda 21 days ahead) is still to come.
    """
    local_now = now.astimezone(TIMEZONE).replace(tzinfo=None)
    announce_moment = _round_up(local_now + lead)
    reminder_moment = _round_up(announce_moment + max(lead / 4, timedelta(minutes=5)))
    first = _next_weekday(local_now.date() + timedelta(days=24), TUESDAY)
    first_meeting = datetime.combine(first, datetime.min.time()).replace(hour=19, minute=30)
    return DemoPlan(
        wijkalliantie=(first_meeting, first_meeting + timedelta(weeks=6)),
        bewonersbijeenkomst=announce_moment + ANNOUNCE_AHEAD,
        kerngroep=reminder_moment + REMINDER_AHEAD,
    )


def _round_up(moment: datetime, step: timedelta = timedelta(minutes=5)) -> datetime:
    base = moment.replace(minute=0, second=0, microsecond=0)
    steps = -(-(moment - base) // step)
    return base + steps * step


def _next_weekday(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


@dataclass(frozen=True)
class Secrets:
    """Files under ``secrets/`` (0600) holding each password the daemon needs."""

    imap: Path
    smtp: Path
    caldav: Path
    matrix: Path


def config_text(endpoints: Endpoints, plan: DemoPlan, secrets: Secrets, base: Path) -> str:
    """The whole ``wijkbode.toml``; paths are written relative to ``base`` (its directory)."""
    assert endpoints.matrix is not None
    server = endpoints.matrix.server_name

    def rel(path: Path | str) -> str:
        return q(str(Path(path).resolve().relative_to(base.resolve())))

    first, second = plan.wijkalliantie
    return _TEMPLATE.format(
        first=_local(first),
        second=_local(second),
        bewoners=_local(plan.bewonersbijeenkomst),
        kerngroep=_local(plan.kerngroep),
        location=q(LOCATION),
        partner=q(PARTNER),
        homeserver=q(endpoints.matrix.base_url),
        bot=q(user_id(BOT, server)),
        matrix_password=rel(secrets.matrix),
        core_room=q(room_alias(CORE_ALIAS, server)),
        announce_room=q(room_alias(ANNOUNCE_ALIAS, server)),
        alice=q(user_id(ALICE, server)),
        address=q(ADDRESS),
        residents=q(RESIDENTS),
        imap_host=q(endpoints.imap.host),
        imaps_port=endpoints.imap.imaps_port,
        imap_password=rel(secrets.imap),
        imap_ca=rel(endpoints.imap.ca_file),
        smtp_host=q(endpoints.smtp.host),
        smtp_port=endpoints.smtp.port,
        smtp_security=q("starttls" if endpoints.smtp.mode == "starttls" else "tls"),
        smtp_user=q(endpoints.smtp.username),
        smtp_password=rel(secrets.smtp),
        smtp_ca=rel(endpoints.smtp.ca_file),
        caldav_url=q(f"{endpoints.caldav.url}/{CALDAV_USER}/"),
        calendar=q(CALENDAR),
        caldav_user=q(CALDAV_USER),
        caldav_password=rel(secrets.caldav),
    )


def q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


_TEMPLATE = """\
# Geschreven door de Wijkbode-demo (harness/demo.py); elke run begint opnieuw.
# Written by the Wijkbode demo (harness/demo.py); every run starts afresh.
# Termijnen: de RULES.md-standaard per reeks / deadlines: RULES.md defaults per series.

timezone = "Europe/Amsterdam"
language = "nl"
state_dir = "state"
default_series = "wijkalliantie"

[series.wijkalliantie]
title = "Wijkalliantie"
public = true
duration = "2h"
location = {location}

[series.wijkalliantie.plan]
dates = [{first}, {second}]

[series.bewonersbijeenkomst]
title = "Bewonersbijeenkomst"
public = true
duration = "2h"
location = {location}

[series.bewonersbijeenkomst.plan]
# Aankondiging 28 dagen vooraf valt vlak na de start / announcement due just after the start.
dates = [{bewoners}]

[series.kerngroep]
title = "Kerngroep"
public = false
duration = "1h30m"
location = "Buurthuis De Meeuw, zaal 2"

[series.kerngroep.plan]
# Herinnering 2 dagen vooraf valt vlak na de start / reminder due just after the start.
dates = [{kerngroep}]

[[partners]]
name = "Ymere"
addresses = [{partner}]
domains = ["ymere.nl"]

[[partners]]
name = "Gemeente Amsterdam"
domains = ["amsterdam.nl"]

[matrix]
homeserver = {homeserver}
user_id = {bot}
password_file = {matrix_password}
device_name = "Wijkbode (demo)"
core_room = {core_room}
announce_rooms = [{announce_room}]
admins = [{alice}]

[mail]
address = {address}
residents_address = {residents}

[mail.imap]
host = {imap_host}
port = {imaps_port}
security = "tls"
username = {address}
password_file = {imap_password}
ca_file = {imap_ca}
idle_renew_seconds = 60
poll_seconds = 5

[mail.smtp]
host = {smtp_host}
port = {smtp_port}
security = {smtp_security}
username = {smtp_user}
password_file = {smtp_password}
ca_file = {smtp_ca}

[caldav]
url = {caldav_url}
calendar = {calendar}
username = {caldav_user}
password_file = {caldav_password}
"""
