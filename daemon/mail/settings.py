"""What the mail intake needs from the configuration, in one frozen value."""

from __future__ import annotations

import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from daemon.config import Config, Partner
from daemon.filing.submission import FilingRules
from daemon.ports.mail import MailLimits

__all__ = ["CRASH_AFTER_COMMIT_ENV", "IntakeSettings"]

# Test hook, for the crash test only: with this set to 1 the intake kills its own
# process (SIGKILL) right after committing a mail and before moving it, which is
# exactly the crash the exactly-once design must survive. Never set in production.
CRASH_AFTER_COMMIT_ENV = "WIJKBODE_TEST_CRASH_AFTER_COMMIT"


@dataclass(frozen=True, slots=True)
class IntakeSettings:
    folder: str
    processed_folder: str
    quarantine_folder: str
    our_address: str
    authserv_id: str | None
    limits: MailLimits
    receipts_per_sender_per_hour: int
    receipts_per_hour_outside_partners: int  # all non-partner senders together; 0: no limit
    parse_attempts: int
    wait_seconds: float  # the longest wait for a change before looking again
    filing: FilingRules
    partners: tuple[Partner, ...]
    core_room: str | None
    batch_size: int = 64  # mails fetched, parsed and committed at once, at most
    batch_bytes: int = 32 * 1024 * 1024  # and at most this much mail (at least one mail)
    crash_after_commit: bool = False
    # Judge deadlines by the daemon's clock instead of INTERNALDATE: only for a
    # demo clock (``run --now/--speed``), which runs at another time than the server.
    received_at_from_clock: bool = False

    @property
    def domain(self) -> str:
        return self.our_address.rpartition("@")[2]

    @property
    def timezone(self) -> ZoneInfo:
        return self.filing.timezone

    @classmethod
    def from_config(cls, config: Config) -> IntakeSettings:
        mail = config.mail
        if mail is None:
            raise ValueError("the mail intake needs a [mail] section")
        limits = mail.limits
        return cls(
            folder=mail.imap.folder,
            processed_folder=mail.imap.processed_folder,
            quarantine_folder=mail.imap.quarantine_folder,
            our_address=mail.address.lower(),
            authserv_id=mail.authserv_id,
            limits=MailLimits(
                max_attachment_bytes=limits.max_attachment_bytes,
                max_mail_bytes=limits.max_mail_bytes,
                max_attachments=limits.max_attachments,
            ),
            receipts_per_sender_per_hour=limits.receipts_per_sender_per_hour,
            receipts_per_hour_outside_partners=limits.receipts_per_hour_outside_partners,
            parse_attempts=max(1, limits.parse_attempts),
            # Look again at least once a minute: a quarantine retry asked for on the
            # command line is picked up then.
            wait_seconds=float(min(mail.imap.idle_renew_seconds, 60)),
            filing=FilingRules.from_config(config),
            partners=config.partners,
            core_room=config.matrix.core_room if config.matrix else None,
            crash_after_commit=os.environ.get(CRASH_AFTER_COMMIT_ENV) == "1",
        )
