"""The mail intake: partner mail in, agenda items, receipts and room posts out.

``intake`` runs the loop and handles each mail exactly once; ``understand``
reads a parsed mail as a submission; ``outcomes`` writes what it becomes in
one transaction; ``quarantine`` keeps what cannot be read; ``effects`` adds
receipts and room posts to the outbox; ``parsing`` is the port the parser
worker (``connectors/mail/worker.py``) implements.
"""

from daemon.mail.intake import MailIntake
from daemon.mail.settings import IntakeSettings

__all__ = ["IntakeSettings", "MailIntake"]
