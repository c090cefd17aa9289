"""Raw bytes to ``ParsedMail``; the code lives in the ``connectors.mail`` package."""

from connectors.mail.parse import parse_mail

__all__ = ["parse_mail"]
