"""The configuration: one TOML file, read once into frozen dataclasses.

``load_config(path)`` returns a checked ``Config`` or raises one
``ConfigError`` naming the file, line and key. See docs/configuration.md and
config/wijkbode.example.toml.
"""

from __future__ import annotations

from daemon.config.load import load_config, parse_config
from daemon.config.schema import (
    AgreementsConfig,
    CaldavConfig,
    Config,
    HttpConfig,
    ImapConfig,
    MailConfig,
    MailLimits,
    MatrixConfig,
    Partner,
    SeriesConfig,
    SmtpConfig,
)
from daemon.config.secret import Secret

__all__ = [
    "AgreementsConfig",
    "CaldavConfig",
    "Config",
    "HttpConfig",
    "ImapConfig",
    "MailConfig",
    "MailLimits",
    "MatrixConfig",
    "Partner",
    "Secret",
    "SeriesConfig",
    "SmtpConfig",
    "load_config",
    "parse_config",
]
