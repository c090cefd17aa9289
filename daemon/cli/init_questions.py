"""The questions of ``wijkbode init``, in groups, and where their answers come from.

Every question has a key; the same key is a flag (``--imap-host``) and a key in an
answers file (TOML or JSON: ``imap_host = "..."``), so a setup can run without
prompts. A secret is never a flag value (it would show in ``ps``): the flag names a
file holding it (``--imap-password-file``); an answers file may hold it directly.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from daemon.config.reader import bilingual
from daemon.errors import ConfigError
from daemon.i18n import mark


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    prompt: str  # English message id; Dutch in the catalog
    default: str = ""  # "" and not optional: an answer is needed
    secret: bool = False
    optional: bool = False  # an empty answer leaves the setting out
    default_from: str = ""  # the default is another question's answer


@dataclass(frozen=True, slots=True)
class Group:
    """Questions asked, checked and (for a connector) tested together."""

    name: str  # "general", "matrix", "mail", "caldav", "http", "plan"
    title: str
    switch: str = ""  # a yes/no question that leaves the whole group out
    questions: tuple[Question, ...] = ()


GROUPS: tuple[Group, ...] = (
    Group(
        "general",
        mark("General"),
        questions=(
            Question("language", mark("Language of messages: nl (Dutch with English) or en"), "nl"),
            Question("timezone", mark("Time zone"), "Europe/Amsterdam"),
            Question(
                "state_dir",
                mark("State directory (database, documents; relative: next to the config)"),
                "state",
            ),
        ),
    ),
    Group(
        "matrix",
        mark("Matrix chat"),
        switch="use_matrix",
        questions=(
            Question("homeserver", mark("Homeserver URL, e.g. https://matrix.example.org")),
            Question("matrix_user", mark("The bot's Matrix user id, e.g. @wijkbode:example.org")),
            Question("matrix_password", mark("The bot's password"), secret=True),
            Question("core_room", mark("The core group's room (alias or id)"), optional=True),
            Question(
                "announce_rooms",
                mark("Rooms for public announcements, comma separated"),
                optional=True,
            ),
            Question(
                "admins",
                mark("Matrix users who may steer Wijkbode, comma separated"),
                optional=True,
            ),
        ),
    ),
    Group(
        "mail",
        mark("Mail"),
        switch="use_mail",
        questions=(
            Question("mail_address", mark("Wijkbode's own mail address")),
            Question("imap_host", mark("IMAP server")),
            Question("imap_port", mark("IMAP port"), "993"),
            Question("imap_security", mark("IMAP security: tls or starttls"), "tls"),
            Question("imap_username", mark("IMAP user name"), default_from="mail_address"),
            Question("imap_password", mark("IMAP password"), secret=True),
            Question(
                "imap_ca_file",
                mark("Extra CA certificate to trust for IMAP (a file; empty: none)"),
                optional=True,
            ),
            Question("imap_folder", mark("Folder where new mail arrives"), "INBOX"),
            Question("smtp_host", mark("SMTP server"), default_from="imap_host"),
            Question("smtp_port", mark("SMTP port"), "587"),
            Question("smtp_security", mark("SMTP security: starttls or tls"), "starttls"),
            Question("smtp_username", mark("SMTP user name"), default_from="imap_username"),
            Question(
                "smtp_password",
                mark("SMTP password (empty: the same as for IMAP)"),
                secret=True,
                optional=True,
            ),
            Question(
                "smtp_ca_file",
                mark("Extra CA certificate to trust for SMTP (a file; empty: none)"),
                optional=True,
                default_from="imap_ca_file",
            ),
        ),
    ),
    Group(
        "caldav",
        mark("Calendar (CalDAV)"),
        switch="use_caldav",
        questions=(
            Question("caldav_url", mark("CalDAV URL")),
            Question("caldav_calendar", mark("Name of the calendar Wijkbode writes"), "Wijkagenda"),
            Question("caldav_username", mark("CalDAV user name"), optional=True),
            Question("caldav_password", mark("CalDAV password"), secret=True, optional=True),
        ),
    ),
    Group(
        "http",
        mark("Calendar feed and public page (HTTP)"),
        switch="use_http",
        questions=(
            Question("http_listen", mark("Listen address host:port"), "127.0.0.1:8080"),
            Question(
                "http_public_url",
                mark("How people reach it, e.g. https://wijkbode.example.org"),
                optional=True,
            ),
        ),
    ),
    Group(
        "plan",
        mark("Meeting plan"),
        questions=(
            Question("series_id", mark("Short id of the meeting series"), "wijkalliantie"),
            Question("series_title", mark("Name of the meeting series"), "Wijkalliantie"),
            Question("series_public", mark("Are the meeting dates public? yes or no"), "yes"),
            Question("series_location", mark("Usual location"), optional=True),
            Question(
                "plan_dates",
                mark("Meeting dates, comma separated, e.g. 2027-01-19T19:30, 2027-03-02T19:30"),
            ),
            Question(
                "plan_rrule",
                mark("Or a repeat rule from the first date, e.g. FREQ=MONTHLY;BYDAY=3TU"),
                optional=True,
            ),
        ),
    ),
)

SWITCH_PROMPT = mark("Set up {title}? yes or no")
YES = frozenset({"y", "yes", "j", "ja", "true", "1"})
NO = frozenset({"n", "no", "nee", "false", "0"})

ALL_KEYS = frozenset(
    [q.key for g in GROUPS for q in g.questions] + [g.switch for g in GROUPS if g.switch]
)
SECRET_KEYS = frozenset(q.key for g in GROUPS for q in g.questions if q.secret)


def flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def read_answers(path: Path) -> dict[str, str]:
    """An answers file: TOML, or JSON when it ends in ``.json``; every value a plain one."""
    try:
        raw = path.read_bytes().decode("utf-8")
        data = json.loads(raw) if path.suffix == ".json" else tomllib.loads(raw)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ConfigError(
            f"{path}: "
            + bilingual(
                f"antwoordenbestand kan niet gelezen worden: {error}",
                "cannot read the answers file",
            )
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: " + bilingual("geen tabel", "not a table"))
    return normalised(data, str(path))


def normalised(data: Mapping[str, object], where: str) -> dict[str, str]:
    """Known keys only; ``<secret>_file`` read now; lists joined; booleans yes/no."""
    answers: dict[str, str] = {}
    for key, value in data.items():
        if key.endswith("_file") and key[: -len("_file")] in SECRET_KEYS:
            answers[key[: -len("_file")]] = secret_from_file(Path(str(value)), where)
            continue
        if key not in ALL_KEYS:
            raise ConfigError(
                f"{where}: {key}: "
                + bilingual(
                    "onbekende vraag", f"unknown answer; known: {', '.join(sorted(ALL_KEYS))}"
                )
            )
        if isinstance(value, bool):
            answers[key] = "yes" if value else "no"
        elif isinstance(value, list):
            answers[key] = ", ".join(str(v) for v in value)
        else:
            answers[key] = str(value)
    return answers


def secret_from_file(path: Path, where: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        value = ""
    if not value:
        raise ConfigError(
            f"{where}: {path}: "
            + bilingual("geheim kan niet gelezen worden of is leeg", "secret unreadable or empty")
        )
    return value


def yes(answer: str) -> bool | None:
    """True, False, or None for an answer that is neither."""
    lowered = answer.strip().lower()
    if lowered in YES:
        return True
    if lowered in NO:
        return False
    return None
