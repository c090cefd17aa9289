"""The outside systems' sections: ``[matrix]``, ``[mail]``, ``[caldav]``, ``[http]``.

Each reader takes the section's ``Table`` (absent section: the caller passes
``None`` on and the connector stays off) and returns its frozen dataclass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from daemon.config import checks
from daemon.config.reader import Table, bilingual
from daemon.config.schema import (
    CaldavConfig,
    HttpConfig,
    ImapConfig,
    MailConfig,
    MailLimits,
    MatrixConfig,
    PrivacyConfig,
    SeriesConfig,
    SmtpConfig,
)
from daemon.config.secret import CREDENTIAL_PREFIX, Secret
from daemon.model import SeriesId
from daemon.rules.planning import SeriesMatcher


def read_secret(table: Table, base: str) -> Secret | None:
    """``<base>_file`` or ``<base>_env``; an inline ``<base>`` is refused."""
    if table.has(base):
        raise table.error(
            base,
            bilingual(
                f"een geheim staat nooit in de configuratie zelf; schrijf "
                f'{base}_file = "/run/secrets/..." (een bestand met alleen het geheim) of '
                f'{base}_env = "NAAM" (een omgevingsvariabele)',
                f"secrets are never written inline; use {base}_file (a file holding only "
                f"the secret) or {base}_env (an environment variable)",
            ),
        )
    file_key, env_key = f"{base}_file", f"{base}_env"
    file_name, env_name = table.optional_text(file_key), table.optional_text(env_key)
    if file_name is not None and env_name is not None:
        raise table.error(
            env_key,
            bilingual(
                f"kies één van {file_key} en {env_key}", f"choose one of {file_key} and {env_key}"
            ),
        )
    if file_name is not None and file_name.startswith(CREDENTIAL_PREFIX):
        credential: str = table.convert(
            file_key, file_name.removeprefix(CREDENTIAL_PREFIX), checks.credential_name
        )
        return Secret(table.source.where(table.key(file_key)), credential=credential)
    if file_name is not None:
        return Secret(table.source.where(table.key(file_key)), file=table.source.resolve(file_name))
    if env_name is not None:
        checked: str = table.convert(env_key, env_name, checks.env_name)
        return Secret(table.source.where(table.key(env_key)), env=checked)
    return None


def read_matrix(table: Table) -> MatrixConfig:
    password = read_secret(table, "password")
    access_token = read_secret(table, "access_token")
    core_room = table.optional_text("core_room")
    config = MatrixConfig(
        homeserver=table.convert("homeserver", table.required("homeserver", str), checks.url),
        user_id=table.convert("user_id", table.required("user_id", str), checks.matrix_user),
        password=password,
        access_token=access_token,
        device_name=table.text("device_name", "Wijkbode"),
        core_room=None
        if core_room is None
        else table.convert("core_room", core_room, checks.matrix_room),
        announce_rooms=_each(table, "announce_rooms", checks.matrix_room),
        admins=_each(table, "admins", checks.matrix_user),
        min_power_level=table.integer("min_power_level", 0),
        digest_threshold=table.integer("digest_threshold", 5, minimum=1),
        bridged_rooms=_each(table, "bridged_rooms", checks.matrix_room),
        ignore_prefixes=(
            tuple(p.strip() for p in table.strings("ignore_prefixes") if p.strip())
            if table.has("ignore_prefixes")
            else ("!wa",)
        ),
        ignore_users=_each(table, "ignore_users", checks.matrix_user),
    )
    table.finish()
    _exactly_one(table, password, access_token, "access_token", "an access token")
    return config


def read_mail(table: Table) -> MailConfig:
    imap, smtp, limits = table.table("imap"), table.table("smtp"), table.table("limits")
    if imap is None or smtp is None:
        missing = "imap" if imap is None else "smtp"
        raise table.error(
            missing,
            bilingual(
                f"[mail] heeft ook [mail.{missing}] nodig", f"[mail] needs [mail.{missing}] too"
            ),
        )
    residents = table.optional_text("residents_address")
    config = MailConfig(
        address=table.convert("address", table.required("address", str), checks.address),
        imap=_read_imap(imap),
        smtp=_read_smtp(smtp),
        limits=MailLimits() if limits is None else _read_limits(limits),
        residents_address=None
        if residents is None
        else table.convert("residents_address", residents, checks.address),
        authserv_id=table.optional_text("authserv_id"),
        core_address=_optional_address(table, "core_address"),
    )
    table.finish()
    return config


def read_caldav(table: Table, series: Mapping[SeriesId, SeriesConfig]) -> CaldavConfig:
    calendar = table.required("calendar", str)
    planning = table.optional_text("planning_calendar")
    if planning is not None and planning == calendar:
        raise table.error(
            "planning_calendar",
            bilingual(
                "de planningskalender moet een andere kalender zijn dan 'calendar', "
                "waar Wijkbode zelf in schrijft",
                "the planning calendar must differ from 'calendar', which Wijkbode writes",
            ),
        )
    config = CaldavConfig(
        url=table.convert("url", table.required("url", str), checks.url),
        calendar=calendar,
        username=table.optional_text("username"),
        password=read_secret(table, "password"),
        planning_calendar=planning,
        planning_poll_seconds=table.integer("planning_poll_seconds", 300, minimum=10),
        planning_match=_read_planning_match(table.table("planning"), series),
        deadline_calendar=table.optional_text("deadline_calendar"),
    )
    table.finish()
    return config


def _read_planning_match(
    table: Table | None, series: Mapping[SeriesId, SeriesConfig]
) -> tuple[SeriesMatcher, ...]:
    """``[caldav.planning.<series>]`` per series; by default its id or title as a
    category, or its title at the start of the event's title."""
    chosen: dict[str, Table] = {}
    if table is not None:
        for name in list(table.data):
            found = table.table(name)
            if found is None or name not in series:
                raise table.error(
                    name,
                    bilingual(
                        f"{name!r} is geen reeks uit [series]; kies een van: "
                        f"{', '.join(series) or '-'}",
                        "not a configured series",
                    ),
                )
            chosen[name] = found
    matchers: list[SeriesMatcher] = []
    for series_id, configured in series.items():
        title = configured.series.title
        own = chosen.get(series_id)
        if own is None:
            matchers.append(SeriesMatcher(series_id, (series_id, title), title))
            continue
        categories = tuple(value for _, value in own.list_of("categories", str))
        prefix = own.optional_text("title_prefix")
        own.finish()
        if not categories and not prefix:
            raise own.error(
                "categories",
                bilingual(
                    "geef categories of title_prefix (of allebei)",
                    "give categories or title_prefix (or both)",
                ),
            )
        matchers.append(SeriesMatcher(series_id, categories, prefix))
    return tuple(matchers)


def read_http(table: Table, *, with_mail: bool = False) -> HttpConfig:
    listen = table.text("listen", "127.0.0.1:8080")
    host, port = table.convert("listen", listen, checks.listen)
    public_url = table.optional_text("public_url")
    locale_dir = _path(table, "locale_dir")
    config = HttpConfig(
        listen=listen,
        host=host,
        port=port,
        public_url=None
        if public_url is None
        else table.convert("public_url", public_url, checks.public_url),
        metrics=table.boolean("metrics", False),
        subscriptions=_subscriptions(table, with_mail),
        subscribe_per_client_per_hour=table.integer("subscribe_per_client_per_hour", 5, minimum=1),
        subscribe_per_hour=table.integer("subscribe_per_hour", 60, minimum=1),
        languages=_page_languages(table, locale_dir),
        locale_dir=locale_dir,
    )
    table.finish()
    return config


def _subscriptions(table: Table, with_mail: bool) -> bool:
    wanted = table.boolean("subscriptions", False)
    if wanted and not with_mail:
        raise table.error(
            "subscriptions",
            bilingual(
                "inschrijven per mail kan alleen met een [mail]-sectie (om de mail te sturen)",
                "mail subscriptions need a [mail] section to send the mail",
            ),
        )
    return wanted


def _page_languages(table: Table, locale_dir: Path | None) -> tuple[str, ...]:
    """``[http] languages``: Dutch first (the page at /), each with a catalog to read."""
    if not table.has("languages"):
        return ("nl", "en")
    found = _each(table, "languages", checks.language_code)
    if not found or found[0] != "nl" or len(set(found)) != len(found):
        raise table.error(
            "languages",
            bilingual(
                'begin met "nl" (de pagina op /) en noem elke taal één keer',
                'start with "nl" (the page at /) and name each language once',
            ),
        )
    for language in found:
        if language in ("nl", "en"):
            continue
        catalog = None if locale_dir is None else checks.catalog_of(locale_dir, language)
        if catalog is None or not catalog.is_file():
            raise table.error(
                "languages",
                bilingual(
                    f"geen vertaling voor {language!r}: zet locale_dir en daarin "
                    f"{language}/LC_MESSAGES/wijkbode.po",
                    f"no catalog for {language!r}: set locale_dir holding "
                    f"{language}/LC_MESSAGES/wijkbode.po",
                ),
            )
    return found


def read_privacy(table: Table) -> PrivacyConfig:
    keep = table.has("keep_documents_years")
    config = PrivacyConfig(
        keep_documents_years=table.integer("keep_documents_years", 0, minimum=1) if keep else None
    )
    table.finish()
    return config


def _read_imap(table: Table) -> ImapConfig:
    host = table.required("host", str)
    password = read_secret(table, "password")
    oauth2_token = read_secret(table, "oauth2_token")
    config = ImapConfig(
        host=host,
        username=table.required("username", str),
        password=password,
        oauth2_token=oauth2_token,
        port=table.convert("port", table.integer("port", 993), checks.port),
        security=_security(table, host, ("tls", "starttls"), "tls"),
        folder=table.text("folder", "INBOX"),
        processed_folder=table.text("processed_folder", "Wijkbode/Verwerkt"),
        quarantine_folder=table.text("quarantine_folder", "Wijkbode/Quarantaine"),
        idle_renew_seconds=table.integer("idle_renew_seconds", 240, minimum=10),
        poll_seconds=table.integer("poll_seconds", 60, minimum=1),
        ca_file=_path(table, "ca_file"),
    )
    table.finish()
    _exactly_one(table, password, oauth2_token, "oauth2_token", "an OAuth2 token")
    return config


def _read_smtp(table: Table) -> SmtpConfig:
    host = table.required("host", str)
    username = table.optional_text("username")
    password = read_secret(table, "password")
    config = SmtpConfig(
        host=host,
        port=table.convert("port", table.integer("port", 587), checks.port),
        security=_security(table, host, ("starttls", "tls"), "starttls"),
        username=username,
        password=password,
        ca_file=_path(table, "ca_file"),
    )
    table.finish()
    if password is not None and username is None:
        raise table.error(
            "username",
            bilingual("een wachtwoord hoort bij een username", "a password needs a username"),
        )
    return config


def _optional_address(table: Table, key: str) -> str | None:
    value = table.optional_text(key)
    return None if value is None else table.convert(key, value, checks.address)


# The limits where 0 means "no limit"; every other limit is at least 1.
_LIMIT_MINIMUM = {"receipts_per_hour_outside_partners": 0}


def _read_limits(table: Table) -> MailLimits:
    defaults = MailLimits()
    limits = MailLimits(
        **{
            name: table.integer(name, getattr(defaults, name), minimum=_LIMIT_MINIMUM.get(name, 1))
            for name in MailLimits.__dataclass_fields__
        }
    )
    table.finish()
    return limits


def _exactly_one(
    table: Table, password: Secret | None, other: Secret | None, other_key: str, english: str
) -> None:
    if (password is None) == (other is None):
        raise table.error(
            "password_file",
            bilingual(
                f"geef precies één van password_file/password_env of "
                f"{other_key}_file/{other_key}_env",
                f"give exactly one of a password or {english}",
            ),
        )


def _security(table: Table, host: str, allowed: tuple[str, ...], default: str) -> str:
    choice = table.text("security", default)
    checked: str = table.convert("security", choice, lambda c: checks.security(c, host, allowed))
    return checked


def _path(table: Table, name: str) -> Path | None:
    value = table.optional_text(name)
    return None if value is None else table.source.resolve(value)


def _each(table: Table, name: str, check: Callable[[str], str]) -> tuple[str, ...]:
    return tuple(table.convert(key, value, check) for key, value in table.list_of(name, str))
