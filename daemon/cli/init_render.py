"""The configuration ``wijkbode init`` writes: TOML with a comment on every setting,
Dutch then English, and the secrets only as references to files beside it."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from daemon.config.reader import bilingual
from daemon.errors import ConfigError

# secret answer key -> file name under secrets/ (next to the configuration)
SECRET_FILES = {
    "matrix_password": "matrix-password",
    "imap_password": "imap-password",
    "smtp_password": "smtp-password",
    "caldav_password": "caldav-password",
}
SECRETS_DIR = "secrets"
# With --systemd: the files the units' LoadCredential= lines read, named credential:NAME.
CREDENTIALS_DIR = "credentials"
CREDENTIAL_PREFIX = "credential:"
_LOCAL_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$")

_HEADER = """\
# Wijkbode: geschreven door `wijkbode init` / written by `wijkbode init`.
#
# `wijkbode check-config --connect` test elke verbinding opnieuw; de volledige lijst
# van instellingen staat in docs/configuration.md en config/wijkbode.example.toml.
# `wijkbode check-config --connect` tests every connection again; every setting is
# described in docs/configuration.md and config/wijkbode.example.toml.
#
# Geheimen staan nooit in dit bestand, maar in de bestanden onder secrets/ (mode 0600).
# Secrets are never in this file but in the files under secrets/ (mode 0600).
"""
_SYSTEMD_NOTE = """#
# Geheimen als systemd-credentials: credential:NAAM is het bestand credentials/NAAM naast
# dit bestand, dat de unit met LoadCredential= doorgeeft. Buiten systemd testen:
# CREDENTIALS_DIRECTORY=<deze map>/credentials wijkbode check-config --connect
# Secrets as systemd credentials: credential:NAME is the file credentials/NAME next to
# this file, which the unit passes on with LoadCredential=. To test outside systemd:
# CREDENTIALS_DIRECTORY=<this directory>/credentials wijkbode check-config --connect
"""


def q(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _list(text: str) -> str:
    return "[" + ", ".join(q(part) for part in _parts(text)) + "]"


def _parts(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def secret_dir(*, systemd: bool) -> str:
    return CREDENTIALS_DIR if systemd else SECRETS_DIR


def secret_ref(key: str, *, systemd: bool) -> str:
    if systemd:
        return q(f"{CREDENTIAL_PREFIX}{SECRET_FILES[key]}")
    return q(f"{SECRETS_DIR}/{SECRET_FILES[key]}")


def local_times(text: str) -> list[str]:
    """Comma-separated local date-times as TOML local date-times (seconds added)."""
    found = []
    for part in _parts(text):
        if not _LOCAL_TIME.match(part):
            raise ConfigError(
                bilingual(
                    f"{part!r} is geen datum en tijd zoals 2027-01-19T19:30",
                    "not a date and time like 2027-01-19T19:30",
                )
            )
        found.append(part.replace(" ", "T") + (":00" if len(part) == 16 else ""))
    if not found:
        raise ConfigError(bilingual("geef minstens één datum", "give at least one date"))
    return found


def render(a: Mapping[str, str], *, placeholder_plan: bool = False, systemd: bool = False) -> str:
    """The whole file from the answers so far (``placeholder_plan``: the plan is not
    asked yet, so a one-meeting plan stands in while the connectors are checked;
    ``systemd``: secrets as systemd credentials, ``credential:NAME``)."""
    header = _HEADER + (_SYSTEMD_NOTE if systemd else "")
    parts = [header, _general(a), _plan(a, placeholder_plan)]
    if a.get("use_matrix") == "yes":
        parts.append(_matrix(a, systemd))
    if a.get("use_mail") == "yes":
        parts.append(_mail(a, systemd))
    if a.get("use_caldav") == "yes":
        parts.append(_caldav(a, systemd))
    if a.get("use_http") == "yes":
        parts.append(_http(a))
    return "\n".join(parts)


def _general(a: Mapping[str, str]) -> str:
    return f"""
# Taal van berichten: "nl" (Nederlands, met Engels erbij) of "en".
# Language of messages: "nl" (Dutch, with English alongside) or "en".
language = {q(a.get("language", "nl"))}

# Tijdzone van alle kloktijden / time zone of every clock time.
timezone = {q(a.get("timezone", "Europe/Amsterdam"))}

# Database en stukken; relatief = naast dit bestand. Onder systemd: StateDirectory=.
# Database and documents; relative = next to this file. Under systemd: StateDirectory=.
state_dir = {q(a.get("state_dir", "state"))}

# Reeks waar inzendingen per mail en chat heen gaan / where submissions go.
default_series = {q(a.get("series_id", "wijkalliantie"))}
"""


def _plan(a: Mapping[str, str], placeholder: bool) -> str:
    series = a.get("series_id", "wijkalliantie")
    if placeholder:
        return f"[series.{series}.plan]\ndates = [2030-01-15T19:30:00]\n"
    public = "true" if a.get("series_public", "yes") == "yes" else "false"
    location = a.get("series_location", "")
    times = local_times(a.get("plan_dates", ""))
    if a.get("plan_rrule"):
        plan = f"start = {times[0]}\nrrule = {q(a['plan_rrule'])}\n"
        if len(times) > 1:
            plan += f"dates = [{', '.join(times[1:])}]  # losse extra's / extra single meetings\n"
    else:
        plan = f"dates = [{', '.join(times)}]\n"
    return f"""
# ---------------------------------------------------------------------------
# Vergaderreeks / meeting series. Termijnen: de RULES.md-standaard; zie
# config/wijkbode.example.toml voor [series.<id>.deadlines] en meer reeksen.
# Deadlines: the RULES.md defaults; see the example for deadlines and more series.
# ---------------------------------------------------------------------------
[series.{series}]
title = {q(a.get("series_title", series))}   # naam in berichten / name in messages
public = {public}   # data openbaar (agenda, kalender)? / dates public?
location = {q(location)}   # vaste plek / usual location

[series.{series}.plan]
# Plaatselijke tijd / local time. Later: exdates, cancelled, [[...plan.moved]].
{plan}"""


def _matrix(a: Mapping[str, str], systemd: bool) -> str:
    lines = [
        "",
        "[matrix]",
        f"homeserver = {q(a['homeserver'])}   # URL van de homeserver / homeserver URL",
        f"user_id = {q(a['matrix_user'])}   # de account van Wijkbode / Wijkbode's account",
        "# Wachtwoord voor de eerste login; daarna gebruikt Wijkbode zijn eigen apparaat.",
        "# Password for the first login; afterwards Wijkbode uses its own device.",
        f"password_file = {secret_ref('matrix_password', systemd=systemd)}",
    ]
    if a.get("core_room"):
        lines.append(f"core_room = {q(a['core_room'])}   # kamer van de kerngroep / core room")
    if a.get("announce_rooms"):
        lines.append(
            f"announce_rooms = {_list(a['announce_rooms'])}   # aankondigingen / announcements"
        )
    if a.get("admins"):
        lines.append(f"admins = {_list(a['admins'])}   # mogen Wijkbode besturen / may steer it")
    return "\n".join(lines) + "\n"


def _mail(a: Mapping[str, str], systemd: bool) -> str:
    imap_port, smtp_port = _port(a["imap_port"]), _port(a["smtp_port"])
    imap_ca = (
        f"ca_file = {q(a['imap_ca_file'])}   # eigen CA / private CA\n"
        if a.get("imap_ca_file")
        else ""
    )
    smtp_ca = (
        f"ca_file = {q(a['smtp_ca_file'])}   # eigen CA / private CA\n"
        if a.get("smtp_ca_file")
        else ""
    )
    return f"""
[mail]
address = {q(a["mail_address"])}   # ons adres / our address

[mail.imap]
host = {q(a["imap_host"])}
port = {imap_port}
security = {q(a["imap_security"])}   # "tls" of/or "starttls"
username = {q(a["imap_username"])}
password_file = {secret_ref("imap_password", systemd=systemd)}
folder = {q(a.get("imap_folder", "INBOX"))}   # hier komt nieuwe mail / new mail arrives here
{imap_ca}
[mail.smtp]
host = {q(a["smtp_host"])}
port = {smtp_port}
security = {q(a["smtp_security"])}   # "starttls" of/or "tls"
username = {q(a["smtp_username"])}
password_file = {secret_ref("smtp_password", systemd=systemd)}
{smtp_ca}"""


def _port(text: str) -> int:
    if not text.strip().isdigit():
        raise ConfigError(bilingual(f"{text!r} is geen poortnummer", "not a port number"))
    return int(text)


def _caldav(a: Mapping[str, str], systemd: bool) -> str:
    lines = [
        "",
        "[caldav]",
        f"url = {q(a['caldav_url'])}   # CalDAV-adres / CalDAV URL",
        f"calendar = {q(a['caldav_calendar'])}   # Wijkbode schrijft hierin / Wijkbode writes here",
    ]
    if a.get("caldav_username"):
        lines.append(f"username = {q(a['caldav_username'])}")
    if a.get("caldav_password"):
        lines.append(f"password_file = {secret_ref('caldav_password', systemd=systemd)}")
    return "\n".join(lines) + "\n"


def _http(a: Mapping[str, str]) -> str:
    lines = [
        "",
        "[http]",
        f"listen = {q(a['http_listen'])}   # adres:poort voor feed en pagina / host:port",
    ]
    if a.get("http_public_url"):
        lines.append(
            f"public_url = {q(a['http_public_url'])}   # zo bereiken mensen het / public URL"
        )
    return "\n".join(lines) + "\n"
