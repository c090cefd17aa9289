"""Mail as bytes to mail as meaning: ``parse_mail`` is the one entry point.

``parse`` orchestrates; ``headers`` and ``charsets`` decode, ``parts`` walks the
MIME tree, ``attachments`` applies limits (with ``tnef`` for winmail.dat and
``filenames`` for display names), ``html`` turns HTML into text, and
``signals`` reads auto-reply, list, bounce and authentication headers.
"""

from connectors.mail.parse import parse_mail

__all__ = ["parse_mail"]
