"""A self-contained Dovecot (IMAP + LMTP) on loopback that reads nothing from ``/etc``."""

from __future__ import annotations

import os
import pwd
import shutil
import ssl
import stat
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from harness.ports import LOOPBACK, free_ports
from harness.probes import all_of, greeting_probe
from harness.process import ServerProcess
from harness.tls import SelfSignedCert

NOBODY_UID = 65534
NOGROUP_GID = 65534


@dataclass(frozen=True)
class MailAccount:
    """Credentials of one Dovecot user; ``address`` is where mail for it is sent."""

    name: str
    password: str
    address: str


def _mail_ids() -> tuple[int, int]:
    """uid/gid that owns the mail: Dovecot refuses uid 0, so root hands mail to nobody."""
    if os.geteuid() == 0:
        return NOBODY_UID, NOGROUP_GID
    return os.getuid(), os.getgid()


def _others_can_traverse(path: Path) -> bool:
    """Whether a user other than the owner can reach ``path`` through all its parents."""
    return all(p.stat().st_mode & stat.S_IXOTH for p in path.parents)


def _reachable_directory(root: Path) -> Path:
    """Create ``root`` so Dovecot's unprivileged processes can reach it; return its real path.

    As root, Dovecot's auth and mail processes run as other users and need +x on
    every parent. When a parent is private (``/root``, a ``mktemp -d``), the
    files go to a fresh reachable temp directory and ``root`` becomes a link to it,
    rather than loosening a directory that is not ours.
    """
    root = root.absolute()
    if root.is_symlink() and not root.exists():
        root.unlink()  # its temp target was cleaned away (a reboot); start afresh
    if not root.exists():
        root.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() != 0 or _others_can_traverse(root):
            root.mkdir()
        else:
            root.symlink_to(tempfile.mkdtemp(prefix="wijkbode-dovecot-"))
    real = root.resolve()
    real.chmod(0o755)
    return real


class DovecotServer:
    """Dovecot with IMAP (plus IMAPS when ``tls``) and LMTP on free loopback ports.

    Everything lives under ``root``: config, passwd-file, state, logs and the
    maildirs. ``stop()``/``start()``/``restart()`` keep ports, users and mail.
    """

    def __init__(
        self,
        root: Path,
        *,
        tls: bool = False,
        cert: SelfSignedCert | None = None,
        mail_domain: str = "wijk.test",
    ) -> None:
        self.root = _reachable_directory(root)
        self.host = LOOPBACK
        self.tls = tls
        self.mail_domain = mail_domain
        self.imap_port, self.imaps_port, self.lmtp_port = free_ports(3)
        if not tls:
            self.imaps_port = 0
        self.users_dir = self.root / "users"
        self.config_file = self.root / "dovecot.conf"
        self.log_file = self.root / "dovecot.log"
        self.cert = cert if tls else None
        self._process: ServerProcess | None = None

    @property
    def mail_root(self) -> Path:
        """Directory holding one home directory (with ``Maildir``) per user."""
        return self.root / "mail"

    async def start(self) -> None:
        """Write config (first time only) and start; ready after IMAP and LMTP greetings."""
        if self._process is None:
            self._prepare()
            self._process = self._make_process()
        await self._process.start()

    async def stop(self) -> None:
        """Stop Dovecot; mail, users and ports stay for a later ``start()``."""
        if self._process is not None:
            await self._process.stop()

    async def restart(self) -> None:
        """Stop and start again, as an outage would."""
        await self.stop()
        await self.start()

    @property
    def running(self) -> bool:
        """Whether the Dovecot master process is alive."""
        return self._process is not None and self._process.running

    def add_user(self, name: str, password: str) -> MailAccount:
        """Add (or replace) a mailbox user, usable at once.

        Each user has its own passwd-file (``users/<name>``): Dovecot checks a
        known file for changes at most once a second, but opens a new one at once.
        """
        if not name or not name.isascii() or any(c in name for c in ":@/ \n") or name[0] == ".":
            raise ValueError(f"unusable Dovecot user name {name!r}")
        self.users_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.users_dir / f".{name}.tmp"
        tmp.write_text(f"{name}:{{PLAIN}}{password}::::::\n", encoding="utf-8")
        tmp.replace(self.users_dir / name)
        return MailAccount(name, password, f"{name}@{self.mail_domain}")

    def ssl_context(self) -> ssl.SSLContext:
        """Client context that verifies Dovecot's self-signed certificate."""
        if self.cert is None:
            raise RuntimeError("this Dovecot was started without tls=True")
        return self.cert.client_context()

    def maildir(self, user: str) -> Path:
        """The Maildir of ``user`` (exists after the first delivery or login)."""
        return self.mail_root / user / "Maildir"

    def _prepare(self) -> None:
        self._prepare_mail_root()
        if self.tls and self.cert is None:
            self.cert = SelfSignedCert.ensure(self.root / "tls")
        self.users_dir.mkdir(exist_ok=True)
        self.config_file.write_text(self._config(), encoding="utf-8")

    def _prepare_mail_root(self) -> None:
        """Make the mail directory owned by the mail uid (Dovecot refuses to deliver as root)."""
        self.mail_root.mkdir(exist_ok=True)
        os.chown(self.mail_root, *_mail_ids())

    def _config(self) -> str:
        uid, gid = _mail_ids()
        run = self.root / "run"
        run.mkdir(exist_ok=True)
        return _CONFIG_TEMPLATE.format(
            base_dir=run,
            state_dir=self.root / "state",
            log=self.log_file,
            instance=f"wijkbode-{uuid.uuid4().hex[:12]}",
            users=self.users_dir / "%n",
            uid=uid,
            gid=gid,
            mail_root=self.mail_root,
            host=self.host,
            imap_port=self.imap_port,
            imaps_port=self.imaps_port,
            lmtp_port=self.lmtp_port,
            ssl=self._ssl_config(),
            unprivileged=self._unprivileged_config(),
            postmaster=f"postmaster@{self.mail_domain}",
        )

    @staticmethod
    def _unprivileged_config() -> str:
        if os.geteuid() == 0:
            return ""
        return _UNPRIVILEGED.format(login_user=pwd.getpwuid(os.getuid()).pw_name)

    def _ssl_config(self) -> str:
        if self.cert is None:
            return "ssl = no"
        return f"ssl = yes\nssl_cert = <{self.cert.cert_file}\nssl_key = <{self.cert.key_file}"

    def _make_process(self) -> ServerProcess:
        dovecot = shutil.which("dovecot") or "/usr/sbin/dovecot"
        probes = [
            greeting_probe(self.host, self.imap_port, b"* OK"),
            greeting_probe(self.host, self.lmtp_port, b"220 "),
        ]
        if self.cert is not None:
            probes.append(
                greeting_probe(self.host, self.imaps_port, b"* OK", self.cert.client_context())
            )
        return ServerProcess(
            "dovecot",
            [dovecot, "-F", "-c", str(self.config_file)],
            log_path=self.root / "dovecot.stdout.log",
            extra_logs=[self.log_file],
            ready=all_of(*probes),
        )


# Nothing here refers to /etc: every path is under the run directory.
_CONFIG_TEMPLATE = """\
# Written by harness/dovecot.py for one loopback test run.
base_dir = {base_dir}
state_dir = {state_dir}
log_path = {log}
instance_name = {instance}
protocols = imap lmtp
listen = {host}
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Ln
mail_location = maildir:{mail_root}/%n/Maildir
first_valid_uid = 1
postmaster_address = {postmaster}
{unprivileged}
passdb {{
  driver = passwd-file
  args = {users}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail_root}/%n
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {host}
    port = {lmtp_port}
  }}
}}
"""

# Without root, every Dovecot process runs as the current user and nothing chroots.
_UNPRIVILEGED = """\
default_login_user = {login_user}
default_internal_user = {login_user}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
