"""``load_config``: one TOML file into a checked ``Config``, or one clear ``ConfigError``."""

from __future__ import annotations

import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo

from daemon.config import checks, sections
from daemon.config.lines import KeyLines
from daemon.config.plans import check_plan, read_plan
from daemon.config.reader import Source, Table, bilingual
from daemon.config.schema import AgreementsConfig, Config, Partner, PrivacyConfig, SeriesConfig
from daemon.config.syntax import syntax_error
from daemon.errors import ConfigError
from daemon.model import Kind, Offset, Series, SeriesId, SeriesRules
from daemon.rules.defaults import (
    AGREEMENT_REMINDERS,
    DEFAULT_LANGUAGE,
    DEFAULT_TIMEZONE,
    public_agenda_for,
    rules_for,
)

DEFAULT_STATE_DIR = "./state"
DEFAULT_SERIES = "wijkalliantie"
DEFAULT_DURATION = "2h"


def load_config(path: Path, *, state_dir_override: Path | None = None) -> Config:
    """Read and check ``path``; ``state_dir_override`` (``--state-dir``) beats ``state_dir``."""
    return parse_config(_read_text(path), path, state_dir_override=state_dir_override)


def parse_config(text: str, path: Path, *, state_dir_override: Path | None = None) -> Config:
    """Check ``text`` as if read from ``path`` (which names it in messages and anchors
    relative paths); no file is read."""
    lines = KeyLines.scan(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise syntax_error(str(path), error, lines) from None
    except RecursionError:  # tomllib recurses per nested array or inline table
        raise ConfigError(
            f"{path}: "
            + bilingual("te diep geneste lijsten of tabellen", "arrays or tables nested too deeply")
        ) from None
    top = Table(data, "", Source(path, lines))
    config = _read_top(top, state_dir_override)
    top.finish()  # a misspelt key first: it may be why a check below fails
    _check_default_series(top, config)
    return config


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: "
            + bilingual(
                "configuratiebestand niet gevonden; geef --config PAD of zet WIJKBODE_CONFIG",
                "configuration file not found; pass --config PATH or set WIJKBODE_CONFIG",
            )
        ) from None
    except OSError as error:
        raise ConfigError(
            f"{path}: "
            + bilingual(
                "configuratiebestand kan niet gelezen worden",
                f"cannot read the configuration file: {error.strerror}",
            )
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: "
            + bilingual(
                f"het bestand is geen UTF-8 (byte {error.start})",
                "the file is not UTF-8 text",
            )
        ) from None


def _read_top(top: Table, state_dir_override: Path | None) -> Config:
    tz: ZoneInfo = top.convert("timezone", top.text("timezone", DEFAULT_TIMEZONE), checks.time_zone)
    language: str = top.convert("language", top.text("language", DEFAULT_LANGUAGE), checks.language)
    state_dir = top.source.resolve(top.text("state_dir", DEFAULT_STATE_DIR))
    if state_dir_override is not None:
        state_dir = state_dir_override.expanduser().absolute()
    series = _read_all_series(top.table("series"), tz)
    default_series = top.text("default_series", DEFAULT_SERIES)
    agreements = top.table("agreements")
    matrix, mail = top.table("matrix"), top.table("mail")
    caldav, http = top.table("caldav"), top.table("http")
    privacy = top.table("privacy")
    return Config(
        path=top.source.path.absolute(),
        timezone=tz,
        language=language,
        state_dir=state_dir,
        default_series=SeriesId(default_series),
        series=series,
        partners=tuple(_read_partner(entry) for entry in top.tables("partners")),
        agreements=_read_agreements(agreements),
        matrix=None if matrix is None else sections.read_matrix(matrix),
        mail=None if mail is None else sections.read_mail(mail),
        caldav=None if caldav is None else sections.read_caldav(caldav, series),
        http=None if http is None else sections.read_http(http, with_mail=mail is not None),
        privacy=PrivacyConfig() if privacy is None else sections.read_privacy(privacy),
        source=top.source,
    )


def _check_default_series(top: Table, config: Config) -> None:
    if config.default_series not in config.series:
        name = config.default_series
        raise top.error(
            "default_series",
            bilingual(
                f"de reeks {name!r} staat niet in de configuratie; voeg [series.{name}] toe "
                f"of kies een van: {', '.join(config.series) or '-'}",
                "this series is not configured",
            ),
        )


def _read_all_series(table: Table | None, tz: ZoneInfo) -> dict[SeriesId, SeriesConfig]:
    if table is None:
        return {}
    found: dict[SeriesId, SeriesConfig] = {}
    for name in list(table.data):
        table.convert(name, name, checks.series_id)
        entry = table.table(name)
        assert entry is not None
        found[SeriesId(name)] = _read_series(entry, SeriesId(name), tz)
    return found


def _read_series(table: Table, series_id: SeriesId, tz: ZoneInfo) -> SeriesConfig:
    deadlines = table.table("deadlines")
    rules = rules_for(series_id) if deadlines is None else _read_rules(deadlines, series_id)
    duration = table.text("duration", DEFAULT_DURATION)
    public = table.boolean("public", False)
    series = Series(
        id=series_id,
        title=table.text("title", series_id.capitalize()),
        public=public,
        rules=rules,
        default_duration=table.convert("duration", duration, checks.duration),
        default_location=table.text("location", ""),
        public_agenda=_public_agenda(table, series_id, public),
        resident_weight=table.integer("resident_weight", 1, minimum=1),
    )
    plan_table = table.table("plan")
    plan = read_plan(plan_table, tz)
    table.finish()
    check_plan(series, plan, tz, plan_table)
    where = table.source.where(table.key("plan"))
    return SeriesConfig(series=series, plan=plan, where=where)


def _public_agenda(table: Table, series_id: SeriesId, public: bool) -> bool:
    """``public_agenda``: the agenda titles are public too; only with public dates."""
    chosen = table.boolean("public_agenda", public_agenda_for(series_id, public))
    if chosen and not public:
        raise table.error(
            "public_agenda",
            bilingual(
                "een openbare agenda vraagt openbare data: zet ook public = true, "
                "of public_agenda = false",
                "a public agenda needs public dates: also set public = true",
            ),
        )
    return chosen


def _read_rules(table: Table, series_id: str) -> SeriesRules:
    """Each moment from the table, else RULES.md's default for this series."""
    default = rules_for(series_id)
    deadlines: dict[Kind, Offset] = {}
    for kind in Kind:
        chosen = _offset_or_off(table, kind.value, default.deadlines.get(kind))
        if chosen is not None:
            deadlines[kind] = chosen
    decision = _offset_or_off(table, "decision", default.decision_offset, may_be_off=False)
    assert decision is not None
    rules = SeriesRules(
        concept_agenda=_offset_or_off(table, "concept_agenda", default.concept_agenda),
        deadlines=deadlines,
        deadline_reminders=_offsets(table, "deadline_reminders", default.deadline_reminders),
        announce=_offset_or_off(table, "announce", default.announce),
        folder=_offset_or_off(table, "folder", default.folder),
        meeting_reminder=_offset_or_off(table, "meeting_reminder", default.meeting_reminder),
        decision_offset=decision,
    )
    table.finish()
    return rules


def _offset_or_off(
    table: Table, name: str, default: Offset | None, *, may_be_off: bool = True
) -> Offset | None:
    """An offset such as ``"14d"``, or ``false`` to switch the moment off."""
    value = table.raw(name)
    if value is None:
        return default
    if value is False and may_be_off:
        return None
    if not isinstance(value, str):
        raise table.error(
            name,
            bilingual(
                "verwacht een termijn zoals '14d' of '48h'" + (", of false" if may_be_off else ""),
                "expected an offset such as '14d' or '48h'" + (", or false" if may_be_off else ""),
            ),
        )
    parsed: Offset = table.convert(name, value, checks.offset)
    return parsed


def _offsets(table: Table, name: str, default: tuple[Offset, ...]) -> tuple[Offset, ...]:
    if not table.has(name):
        table.raw(name)
        return default
    return tuple(
        table.convert(key, value, checks.offset) for key, value in table.list_of(name, str)
    )


def _read_partner(table: Table) -> Partner:
    partner = Partner(
        name=table.required("name", str),
        addresses=tuple(
            table.convert(key, value, checks.address)
            for key, value in table.list_of("addresses", str)
        ),
        domains=tuple(
            table.convert(key, value, checks.domain) for key, value in table.list_of("domains", str)
        ),
    )
    table.finish()
    if not partner.addresses and not partner.domains:
        raise table.error(
            "name",
            bilingual(
                f"partner {partner.name!r} heeft geen addresses en geen domains",
                "a partner needs addresses or domains",
            ),
        )
    return partner


def _read_agreements(table: Table | None) -> AgreementsConfig:
    if table is None:
        return AgreementsConfig(reminders=AGREEMENT_REMINDERS)
    config = AgreementsConfig(reminders=_offsets(table, "reminders", AGREEMENT_REMINDERS))
    table.finish()
    return config
