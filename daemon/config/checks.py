"""Small checks of single option values.

Each takes the value as read from TOML and returns the checked value, or
raises ``ValueError`` with a Dutch-then-English reason; the reader adds the
key and line.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from daemon.config.reader import bilingual
from daemon.i18n import known_language
from daemon.model import Offset

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

_DURATION = re.compile(r"^(?:(?P<hours>\d{1,2})h)?(?:(?P<minutes>\d{1,4})m)?$")
_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(_[A-Z][a-z]{3})?(_[A-Z]{2})?$")
_SERIES_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_MATRIX_USER = re.compile(r"^@[a-z0-9._=/+-]+:[A-Za-z0-9.\-\[\]:]+$")
# Aliases are '#name:server'. Room ids are '!opaque', with ':server' only before
# room version 12 (Synapse now creates v12 rooms, whose ids have no server part).
_MATRIX_ROOM = re.compile(r"^(#[^:\s]+:[A-Za-z0-9.\-\[\]:]+|![^:\s]+(:[A-Za-z0-9.\-\[\]:]+)?)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def time_zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            bilingual(
                f"onbekende tijdzone {name!r}; schrijf bijvoorbeeld 'Europe/Amsterdam'",
                "unknown time zone; write e.g. 'Europe/Amsterdam'",
            )
        ) from None


def language(code: str) -> str:
    if code not in ("nl", "en"):
        raise ValueError(
            bilingual(f"taal {code!r} bestaat hier niet; kies 'nl' of 'en'", "choose 'nl' or 'en'")
        )
    return code


def language_code(code: str) -> str:
    """A page language: a BCP 47-like code Babel knows (``nl``, ``en``, ``ar``, ``pt_BR``)."""
    if not _LANGUAGE_CODE.match(code) or not known_language(code):
        raise ValueError(
            bilingual(
                f"{code!r} is geen bekende taalcode zoals 'ar' of 'pt_BR'",
                "not a language code CLDR knows",
            )
        )
    return code


def catalog_of(locale_dir: Path, language: str) -> Path:
    """Where the gettext catalog of ``language`` is under ``[http] locale_dir``."""
    return locale_dir / language / "LC_MESSAGES" / "wijkbode.po"


def offset(text: str) -> Offset:
    return Offset.parse(text)  # its ValueError is already bilingual


def duration(text: str) -> timedelta:
    """``2h``, ``90m`` or ``2h30m``; more than zero."""
    match = _DURATION.match(text.strip())
    span = (
        timedelta(hours=int(match["hours"] or 0), minutes=int(match["minutes"] or 0))
        if match and (match["hours"] or match["minutes"])
        else timedelta(0)
    )
    if span <= timedelta(0):
        raise ValueError(
            bilingual(
                f"{text!r} is geen geldige duur; schrijf bijvoorbeeld '2h', '90m' of '2h30m'",
                "not a valid duration; write e.g. '2h', '90m' or '2h30m'",
            )
        )
    return span


def series_id(name: str) -> str:
    if not _SERIES_ID.match(name):
        raise ValueError(
            bilingual(
                f"{name!r} is geen geldige naam voor een reeks; gebruik kleine letters, "
                "cijfers, '-' en '_'",
                "not a valid series id; use lower-case letters, digits, '-' and '_'",
            )
        )
    return name


def local_time(moment: datetime, zone: zoneinfo.ZoneInfo) -> datetime:
    """A TOML local date-time as an aware time in ``zone``; refuse a time the zone skips."""
    if moment.tzinfo is not None:
        raise ValueError(
            bilingual(
                "schrijf een plaatselijke tijd zonder UTC-afwijking, bijvoorbeeld "
                "2027-04-06T19:30:00; de tijdzone komt uit 'timezone'",
                "write a local time without UTC offset; the zone comes from 'timezone'",
            )
        )
    aware = moment.replace(tzinfo=zone)
    round_trip = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != moment:
        raise ValueError(
            bilingual(
                f"{moment:%Y-%m-%d %H:%M} bestaat niet in {zone.key} (de klok springt dan vooruit)",
                "this local time does not exist (the clocks go forward then)",
            )
        )
    return aware


def address(text: str) -> str:
    lowered = text.strip().lower()
    if not _ADDRESS.match(lowered):
        raise ValueError(
            bilingual(f"{text!r} is geen geldig e-mailadres", "not a valid e-mail address")
        )
    return lowered


def domain(text: str) -> str:
    lowered = text.strip().lower().removeprefix("@")
    if not _DOMAIN.match(lowered):
        raise ValueError(
            bilingual(
                f"{text!r} is geen geldig domein; schrijf bijvoorbeeld 'amsterdam.nl'",
                "not a valid domain; write e.g. 'amsterdam.nl'",
            )
        )
    return lowered


def env_name(name: str) -> str:
    if not _ENV_NAME.match(name):
        raise ValueError(
            bilingual(
                f"{name!r} is geen geldige naam voor een omgevingsvariabele",
                "not a valid environment variable name",
            )
        )
    return name


def credential_name(name: str) -> str:
    """A systemd credential's name: one file name in $CREDENTIALS_DIRECTORY, no path."""
    if not name or "/" in name or name in (".", "..") or len(name) > 255:
        raise ValueError(
            bilingual(
                f"{name!r} is geen geldige naam voor een systemd-credential "
                "(een bestandsnaam zonder /)",
                "not a valid systemd credential name (a file name without /)",
            )
        )
    return name


def url(text: str) -> str:
    """An http(s) URL; plain http only to this machine (loopback)."""
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(
            bilingual(
                f"{text!r} is geen geldige URL; schrijf bijvoorbeeld 'https://matrix.example.org'",
                "not a valid URL; write e.g. 'https://matrix.example.org'",
            )
        )
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(
            bilingual(
                "onversleuteld http mag alleen naar deze machine (127.0.0.1/localhost); "
                "gebruik https",
                "plain http is only allowed to loopback; use https",
            )
        )
    return text.rstrip("/")


def public_url(text: str) -> str:
    """A URL people open from elsewhere: any http(s) URL with a host."""
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(bilingual(f"{text!r} is geen geldige URL", "not a valid URL"))
    return text.rstrip("/")


def security(choice: str, host: str, allowed: tuple[str, ...]) -> str:
    """``tls``/``starttls``; ``none`` only when the server is on this machine."""
    options = ", ".join(repr(option) for option in (*allowed, "none"))
    if choice not in (*allowed, "none"):
        raise ValueError(
            bilingual(f"{choice!r} kan hier niet; kies {options}", f"choose {options}")
        )
    if choice == "none" and host not in LOOPBACK_HOSTS:
        raise ValueError(
            bilingual(
                "'none' (onversleuteld) mag alleen als de server op deze machine draait "
                "(127.0.0.1/localhost)",
                "'none' (unencrypted) is only allowed for a server on loopback",
            )
        )
    return choice


def port(number: int) -> int:
    if not 1 <= number <= 65535:
        raise ValueError(
            bilingual(f"poort {number} bestaat niet (1-65535)", "port must be 1-65535")
        )
    return number


def listen(text: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port``."""
    host, sep, port_text = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(
            bilingual(
                f"{text!r} is geen adres:poort; schrijf bijvoorbeeld '127.0.0.1:8080'",
                "not host:port; write e.g. '127.0.0.1:8080'",
            )
        )
    return host, port(int(port_text))


def matrix_user(text: str) -> str:
    if not _MATRIX_USER.match(text):
        raise ValueError(
            bilingual(
                f"{text!r} is geen Matrix-gebruiker; schrijf bijvoorbeeld '@wijkbode:example.org'",
                "not a Matrix user id; write e.g. '@wijkbode:example.org'",
            )
        )
    return text


def matrix_room(text: str) -> str:
    if not _MATRIX_ROOM.match(text):
        raise ValueError(
            bilingual(
                f"{text!r} is geen Matrix-kamer; schrijf '!id' of '#naam:server'",
                "not a Matrix room; write '!id' or '#alias:server'",
            )
        )
    return text
