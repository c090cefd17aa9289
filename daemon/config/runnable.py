"""What ``run`` needs beyond a valid file: real values, not the example's placeholders,
and every secret and certificate file present.

``check-config`` reports these as warnings (the example must pass it);
``run`` refuses to start on the first one (like mautrix's ``ForbiddenDefault``).
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

from daemon.config.reader import bilingual
from daemon.config.schema import Config
from daemon.config.secret import Secret
from daemon.errors import ConfigError

# The example file's placeholder values, by key path. ``run`` refuses each of them;
# a unit test keeps this list and config/wijkbode.example.toml in step.
PLACEHOLDERS: dict[str, str] = {
    "matrix.homeserver": "https://matrix.example.org",
    "matrix.user_id": "@wijkbode:example.org",
    "mail.address": "wijkalliantie@example.org",
    "mail.imap.host": "imap.example.org",
    "mail.smtp.host": "smtp.example.org",
    "caldav.url": "https://agenda.example.org/dav/wijkbode",
    "http.public_url": "https://wijkbode.example.org",
}


def configured_values(config: Config) -> dict[str, str | None]:
    """The current values of the keys in ``PLACEHOLDERS``."""
    matrix, mail, caldav, http = config.matrix, config.mail, config.caldav, config.http
    return {
        "matrix.homeserver": matrix.homeserver if matrix else None,
        "matrix.user_id": matrix.user_id if matrix else None,
        "mail.address": mail.address if mail else None,
        "mail.imap.host": mail.imap.host if mail else None,
        "mail.smtp.host": mail.smtp.host if mail else None,
        "caldav.url": caldav.url if caldav else None,
        "http.public_url": http.public_url if http else None,
    }


def configured_secrets(config: Config) -> list[Secret]:
    candidates: list[Secret | None] = []
    if config.matrix:
        candidates += [config.matrix.password, config.matrix.access_token]
    if config.mail:
        imap, smtp = config.mail.imap, config.mail.smtp
        candidates += [imap.password, imap.oauth2_token, smtp.password]
    if config.caldav:
        candidates.append(config.caldav.password)
    return [secret for secret in candidates if secret is not None]


def exposed_secrets(config: Config) -> list[str]:
    """A warning for each secret file other users may read (``check-config`` shows them;
    ``run`` still starts: the file may sit in a directory nobody else can enter)."""
    warnings = []
    for secret in configured_secrets(config):
        if secret.file is None:
            continue
        try:
            mode = stat.S_IMODE(secret.file.stat().st_mode)
        except OSError:
            continue  # missing: runtime_problems says so
        if mode & 0o077:
            warnings.append(
                f"{secret.where}: "
                + bilingual(
                    f"andere gebruikers mogen {secret.file} lezen (modus {mode:o}); "
                    f"maak het 600: chmod 600 {secret.file}",
                    "other users may read the secret file; make it 600",
                )
            )
    return warnings


def trust_warnings(config: Config) -> list[str]:
    """A warning when partners are trusted by their From address alone (``check-config``
    shows it; ``run`` starts): without ``[mail] authserv_id`` Wijkbode cannot read our
    mail server's verdict, so a forged From of a partner is filed as the partner's."""
    if config.mail is None or not config.partners or config.mail.authserv_id:
        return []
    return [
        f"{config.where('mail.authserv_id')}: "
        + bilingual(
            "niet ingesteld: mail geldt als van een partner alleen op het From-adres, dat"
            " iedereen kan vervalsen; zet authserv_id op de naam die je mailserver in"
            " Authentication-Results schrijft",
            "not set: mail counts as a partner's by their From address alone, which anyone"
            " can forge; set authserv_id to the name your mail server writes in"
            " Authentication-Results",
        )
    ]


def runtime_problems(config: Config) -> list[str]:
    return list(_problems(config))


def check_runnable(config: Config) -> None:
    for problem in _problems(config):
        raise ConfigError(problem)


def _problems(config: Config) -> Iterator[str]:
    for key, value in configured_values(config).items():
        if value is not None and value == PLACEHOLDERS[key]:
            yield f"{config.where(key)}: " + bilingual(
                f"{value!r} is een voorbeeldwaarde; vul de echte waarde in",
                "this is the example's placeholder; fill in the real value",
            )
    for secret in configured_secrets(config):
        problem = secret.problem()
        if problem is not None:
            yield problem
    for key, path in _ca_files(config):
        if not path.is_file():
            yield f"{config.where(key)}: " + bilingual(
                f"het certificaatbestand {path} bestaat niet", "the CA file does not exist"
            )


def _ca_files(config: Config) -> Iterator[tuple[str, Path]]:
    if config.mail is None:
        return
    if config.mail.imap.ca_file is not None:
        yield "mail.imap.ca_file", config.mail.imap.ca_file
    if config.mail.smtp.ca_file is not None:
        yield "mail.smtp.ca_file", config.mail.smtp.ca_file
