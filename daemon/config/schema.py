"""The configuration as frozen dataclasses: what ``load_config`` gives the rest of Wijkbode.

An outside system's section is ``None`` when the file leaves it out: that
connector is off. Secrets are ``Secret`` references, read only when used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from daemon.config.reader import Source
from daemon.config.secret import Secret
from daemon.errors import ConfigError
from daemon.model import Meeting, Offset, Series, SeriesId
from daemon.rules.plan import PlanSpec, expand_plan
from daemon.rules.planning import SeriesMatcher

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class SeriesConfig:
    """One meeting series: its rules and its yearly plan."""

    series: Series
    plan: PlanSpec
    where: str = ""  # "file:line: series.<id>.plan", for errors found later

    def meetings(self, tz: ZoneInfo, horizon_end: date | None) -> list[Meeting]:
        """The series' meetings; a plan that fails only at this horizon is a ``ConfigError``."""
        try:
            return expand_plan(self.series, self.plan, tz, horizon_end=horizon_end)
        except ValueError as error:
            raise ConfigError(f"{self.where}: {error}") from None


@dataclass(frozen=True, slots=True)
class Partner:
    """A partner organisation; mail from these addresses or domains is a partner's."""

    name: str
    addresses: tuple[str, ...]  # exact, lower-case
    domains: tuple[str, ...]  # exact domain of the address, lower-case

    def matches(self, address: str) -> bool:
        lowered = address.strip().lower()
        return lowered in self.addresses or lowered.rpartition("@")[2] in self.domains


@dataclass(frozen=True, slots=True)
class AgreementsConfig:
    reminders: tuple[Offset, ...]  # before an afspraak is due


@dataclass(frozen=True, slots=True)
class MatrixConfig:
    homeserver: str  # URL without trailing slash
    user_id: str
    password: Secret | None  # exactly one of password and access_token
    access_token: Secret | None
    device_name: str = "Wijkbode"
    core_room: str | None = None  # the core group's room: id or alias
    announce_rooms: tuple[str, ...] = ()
    admins: tuple[str, ...] = ()  # Matrix user ids allowed to steer Wijkbode
    min_power_level: int = 0
    digest_threshold: int = 5
    # Rooms relayed to a WhatsApp group by mautrix-whatsapp (docs/whatsapp.md): a filing
    # there is confirmed by a short notice, as the ✅ never reaches WhatsApp.
    bridged_rooms: tuple[str, ...] = ()
    # Messages starting with one of these belong to another bot (the bridge's "!wa"), and
    # messages from these users (other bots, the bridge bot) are never answered.
    ignore_prefixes: tuple[str, ...] = ("!wa",)
    ignore_users: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ImapConfig:
    host: str
    username: str
    password: Secret | None  # exactly one of password and oauth2_token
    oauth2_token: Secret | None  # XOAUTH2 bearer token
    port: int = 993
    security: str = "tls"  # "tls", "starttls" or (loopback only) "none"
    folder: str = "INBOX"
    processed_folder: str = "Wijkbode/Verwerkt"
    quarantine_folder: str = "Wijkbode/Quarantaine"
    idle_renew_seconds: int = 240
    poll_seconds: int = 60
    ca_file: Path | None = None  # trust this CA (a self-signed server)


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    host: str
    port: int = 587
    security: str = "starttls"  # "starttls", "tls" or (loopback only) "none"
    username: str | None = None
    password: Secret | None = None
    ca_file: Path | None = None


@dataclass(frozen=True, slots=True)
class MailLimits:
    max_attachment_bytes: int = 20 * MIB
    max_mail_bytes: int = 40 * MIB
    max_attachments: int = 20
    receipts_per_sender_per_hour: int = 5
    # Receipts to all senders outside the partners together, per hour; 0: no limit. A
    # spammer forging many From addresses would otherwise get one receipt to each
    # (backscatter); 30 is more than a busy deadline hour of real residents' mail.
    receipts_per_hour_outside_partners: int = 30
    parse_timeout_seconds: int = 20
    parse_attempts: int = 3
    # The stukken package is attached to a partner's mail up to this total; above it,
    # each document is a download link (served by [http]) instead.
    package_attach_max_bytes: int = 10 * MIB


@dataclass(frozen=True, slots=True)
class MailConfig:
    address: str  # our own address, lower-case
    imap: ImapConfig
    smtp: SmtpConfig
    limits: MailLimits = MailLimits()
    residents_address: str | None = None  # the residents' mailing list, for announcements
    authserv_id: str | None = None  # our server's name in Authentication-Results
    core_address: str | None = None  # the core group's own mail: gets the folder


@dataclass(frozen=True, slots=True)
class CaldavConfig:
    url: str
    calendar: str  # the calendar's display name
    username: str | None = None
    password: Secret | None = None
    # The core group's shared calendar to plan from (display name); None: not read.
    planning_calendar: str | None = None
    planning_poll_seconds: int = 300  # how often it is read (and at SIGHUP)
    planning_match: tuple[SeriesMatcher, ...] = ()  # which events plan which series
    # Write every deadline moment as an event into this calendar (display name).
    deadline_calendar: str | None = None


@dataclass(frozen=True, slots=True)
class HttpConfig:
    listen: str = "127.0.0.1:8080"
    host: str = "127.0.0.1"  # ``listen`` split, for binding
    port: int = 8080
    public_url: str | None = None  # how people reach the feed and page
    # /metrics (Prometheus text) on the listen address: off unless the operator wants it,
    # as its counts show how busy the core group is (security finding 6).
    metrics: bool = False
    # Residents subscribe to the announcements by mail on the page (needs [mail]).
    subscriptions: bool = False
    subscribe_per_client_per_hour: int = 5  # sign-ups one client address may make
    subscribe_per_hour: int = 60  # sign-ups from everyone together
    # The page's languages, Dutch (at /) first; a language other than nl and en needs
    # its catalog in locale_dir/<language>/LC_MESSAGES/wijkbode.po.
    languages: tuple[str, ...] = ("nl", "en")
    locale_dir: Path | None = None


@dataclass(frozen=True, slots=True)
class PrivacyConfig:
    """``[privacy]``: how long Wijkbode keeps what people sent (docs/privacy.md)."""

    # ``privacy purge`` drops the documents of meetings that started more than this many
    # years ago (the items stay); None: documents are kept until removed by hand.
    keep_documents_years: int | None = None


@dataclass(frozen=True)
class Config:
    """The whole configuration, checked. ``series`` keeps the file's order."""

    path: Path  # the file it came from, absolute
    timezone: ZoneInfo
    language: str  # "nl" or "en"
    state_dir: Path  # absolute
    default_series: SeriesId  # where mail and chat submissions go
    series: Mapping[SeriesId, SeriesConfig]
    partners: tuple[Partner, ...]
    agreements: AgreementsConfig
    matrix: MatrixConfig | None = None
    mail: MailConfig | None = None
    caldav: CaldavConfig | None = None
    http: HttpConfig | None = None
    privacy: PrivacyConfig = PrivacyConfig()
    source: Source | None = field(default=None, compare=False, repr=False)

    def where(self, key_path: str) -> str:
        """``file:line: key.path`` for messages about an option found wrong after loading."""
        if self.source is not None:
            return self.source.where(key_path)
        return f"{self.path}: {key_path}"

    def meetings(self, horizon_end: date | None = None) -> list[Meeting]:
        """Every planned meeting of every series, sorted by start.

        An RRULE without end is expanded up to ``horizon_end`` (default: two
        years after its first start, see ``daemon.rules.plan``).
        """
        found = [
            meeting
            for entry in self.series.values()
            for meeting in entry.meetings(self.timezone, horizon_end)
        ]
        return sorted(found, key=lambda m: (m.start, m.id))

    def partner_for(self, address: str) -> Partner | None:
        """The partner ``address`` belongs to, if any."""
        return next((p for p in self.partners if p.matches(address)), None)
