"""``wijkbode init``: set Wijkbode up by answering questions, each connection tested as
it goes, into a commented configuration with the secrets in separate 0600 files.

Answers come from the prompts, or without prompts from flags and an answers file
(``--answers``, TOML or JSON) for automation. Everything is first written into a
private staging directory beside the configuration and only moved into place at
the very end, with Ctrl-C held off for those few renames: an interrupted setup
leaves nothing behind, a finished one leaves everything.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import shutil
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from daemon.cli.init_questions import (
    GROUPS,
    SWITCH_PROMPT,
    Group,
    Question,
    flag,
    normalised,
    read_answers,
    secret_from_file,
    yes,
)
from daemon.cli.init_render import SECRET_FILES, render, secret_dir
from daemon.cli.probe_report import EXIT_CONFIG, exit_code, line, run_probes
from daemon.config import Config, parse_config
from daemon.config.reader import bilingual
from daemon.errors import ConfigError
from daemon.i18n import Translator, mark
from daemon.ports.probe import Severity

EXIT_INTERRUPTED = 130
_RETRY_PROMPT = mark("Answer again (a), keep these answers anyway (k) or stop (s)?")
_SAVED = mark("Configuration written to {path}; secrets in {secrets} (mode 0600).")
_NEXT = mark("Next: wijkbode check-config --connect, then wijkbode run (or the systemd unit).")
_ABORTED = mark("Stopped: nothing was written.")
_CHECKING = mark("Testing the connection...")


class _LazyHelp(str):
    """A flag's help in Dutch and English, translated only when ``--help`` is shown,
    so parsing a command line loads no catalog (argparse ``%``-formats every help)."""

    __slots__ = ()

    def __mod__(self, params: object) -> str:
        return f"{Translator('nl')(str(self))} / {self}"


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    parser = subparsers.add_parser(
        "init",
        help="Richt Wijkbode in met vragen / Set Wijkbode up by answering questions",
        description=(
            "Vraagt naar homeserver en bot, kamers, mailbox, kalender, HTTP-adres en "
            "vergaderplanning, test elke verbinding en schrijft een configuratie met "
            "uitleg; geheimen in aparte bestanden (0600). Zonder vragen: --answers of "
            "de opties hieronder met --non-interactive. / Asks for the homeserver and "
            "bot, rooms, mailbox, calendar, HTTP address and meeting plan, tests each "
            "connection and writes a commented configuration; secrets in separate files "
            "(0600). Without prompts: --answers or the options below with --non-interactive."
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help="het te schrijven configuratiebestand / the configuration file to write",
    )
    parser.add_argument(
        "--answers",
        type=Path,
        help=(
            "antwoorden uit een TOML- of JSON-bestand, zonder vragen / answers from a "
            "TOML or JSON file, no prompts"
        ),
    )
    parser.add_argument(
        "--non-interactive",
        action="store_true",
        help=(
            "nooit vragen; een ontbrekend antwoord is een fout / never ask; a missing "
            "answer is an error"
        ),
    )
    parser.add_argument(
        "--no-connect",
        action="store_true",
        help="verbindingen niet testen / do not test the connections",
    )
    parser.add_argument(
        "--systemd",
        action="store_true",
        help=(
            "geheimen als systemd-credentials (credentials/NAAM, credential:NAAM) en "
            "toestand in /var/lib/wijkbode / secrets as systemd credentials "
            "(credentials/NAME, credential:NAME) and state in /var/lib/wijkbode"
        ),
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="een bestaande configuratie vervangen / replace an existing configuration",
    )
    for group in GROUPS:
        if group.switch:
            parser.add_argument(
                flag(group.switch), dest=group.switch, metavar="yes|no", help=_LazyHelp(group.title)
            )
        for question in group.questions:
            if question.secret:
                parser.add_argument(
                    flag(question.key) + "-file",
                    dest=f"{question.key}__file",
                    type=Path,
                    metavar="FILE",
                    help=_LazyHelp(question.prompt),
                )
            else:
                # SUPPRESS: an option not given leaves the global one of the same name
                # (--state-dir) as it was.
                parser.add_argument(
                    flag(question.key),
                    dest=question.key,
                    default=argparse.SUPPRESS,
                    help=_LazyHelp(question.prompt),
                )
    parser.set_defaults(handler=init)


def init(args: argparse.Namespace) -> int:
    from daemon.cli import config_path

    target = config_path(args).absolute()
    _refuse_to_overwrite(target, secret_dir(systemd=args.systemd), force=args.force)
    given = read_answers(args.answers) if args.answers is not None else {}
    given.update(_from_flags(args))
    interactive = not (args.non_interactive or args.answers is not None)
    setup = Setup(
        target, given, interactive=interactive, connect=not args.no_connect, systemd=args.systemd
    )
    try:
        return setup.run()
    except (KeyboardInterrupt, EOFError):
        if setup.finished:  # Ctrl-C held off during the renames arrives after them
            return 0
        setup.discard()
        print(f"\nwijkbode: {_both(_ABORTED)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        setup.discard()


def _refuse_to_overwrite(target: Path, secrets: str, *, force: bool) -> None:
    existing = [target] + [target.parent / secrets / name for name in SECRET_FILES.values()]
    found = [str(path) for path in existing if path.exists()]
    if found and not force:
        raise ConfigError(
            bilingual(
                f"{', '.join(found)} bestaat al; kies een ander --config of geef --force",
                "already exists; choose another --config or pass --force",
            )
        )


def _from_flags(args: argparse.Namespace) -> dict[str, str]:
    raw: dict[str, object] = {}
    for name, value in vars(args).items():
        if value is None:
            continue
        if name.endswith("__file"):
            raw[name[: -len("__file")]] = secret_from_file(Path(value), "--" + name)
        elif any(name == q.key for g in GROUPS for q in g.questions) or any(
            name == g.switch for g in GROUPS if g.switch
        ):
            raw[name] = value
    return normalised(raw, "command line")


def _both(message: str, **fields: object) -> str:
    """Dutch (English); a ``title`` field is a message id itself, translated alike."""

    def one(language: str) -> str:
        _ = Translator(language)
        filled = {k: _(str(v)) if k == "title" else v for k, v in fields.items()}
        return _(message, **filled)

    return f"{one('nl')} ({one('en')})"


@dataclass
class Setup:
    target: Path
    given: dict[str, str]
    interactive: bool
    connect: bool
    systemd: bool = False
    answers: dict[str, str] = field(default_factory=dict)
    staging: Path | None = None
    finished: bool = False  # everything is in place
    made_parent: bool = False  # the configuration's directory is ours: gone on Ctrl-C

    # -- the flow -------------------------------------------------------------

    def run(self) -> int:
        self.staging = self.target.parent / f".{self.target.name}.init-{os.getpid()}"
        if not self.target.parent.exists():
            self.target.parent.mkdir(parents=True)
            self.made_parent = True
        self.staging.mkdir(mode=0o700)
        for group in GROUPS:
            again = False
            while True:
                self._ask(group, again=again)
                code = self._check(group)
                if code == 0:
                    break
                if not self.interactive:
                    return code
                choice = self._choose()
                if choice == "k":
                    break
                if choice == "s":
                    self.discard()
                    print(_both(_ABORTED))
                    return code
                again = True
        self._finish()
        print(_both(_SAVED, path=self.target, secrets=self.target.parent / self._secrets))
        print(_both(_NEXT))
        return 0

    def _ask(self, group: Group, *, again: bool) -> None:
        print(f"\n== {_both(group.title)} ==", flush=True)
        if group.switch:
            self.answers[group.switch] = self._switch(group, again=again)
            if self.answers[group.switch] == "no":
                return
        for question in group.questions:
            self._answer(question, again=again)

    def _switch(self, group: Group, *, again: bool) -> str:
        if group.switch in self.given and not again:
            return self._yes_no(self.given[group.switch], group.switch)
        if not self.interactive:
            asked = any(q.key in self.given for q in group.questions)
            return "yes" if asked else "no"
        default = self.answers.get(group.switch, "yes")
        while True:
            answer = self._prompt(_both(SWITCH_PROMPT, title=group.title), default)
            decided = yes(answer)
            if decided is not None:
                return "yes" if decided else "no"

    def _yes_no(self, value: str, key: str) -> str:
        decided = yes(value)
        if decided is None:
            raise ConfigError(f"{key}: " + bilingual(f"{value!r}: ja of nee", "yes or no"))
        return "yes" if decided else "no"

    def _answer(self, question: Question, *, again: bool) -> None:
        key = question.key
        default = self.answers.get(key) or self.given.get(key) or ""
        if not default and question.default_from:
            default = self.answers.get(question.default_from, "")
        default = default or question.default
        if key == "state_dir" and self.systemd and default == question.default:
            default = "/var/lib/wijkbode"  # the units' StateDirectory=
        if key in self.given and not again:
            self.answers[key] = self.given[key]
            return
        if not self.interactive:
            if not default and not question.optional:
                raise ConfigError(
                    bilingual(
                        f"antwoord ontbreekt: {key} (optie {flag(key)})",
                        f"answer missing: {key} (option {flag(key)})",
                    )
                )
            self.answers[key] = default
            return
        while True:
            answer = self._prompt(_both(question.prompt), default, secret=question.secret)
            if answer or question.optional:
                self.answers[key] = answer
                return

    def _choose(self) -> str:
        while True:
            answer = self._prompt(_both(_RETRY_PROMPT), "a").lower()
            if answer in ("a", "k", "s"):
                return answer

    # -- checking ---------------------------------------------------------------

    def _check(self, group: Group) -> int:
        """Write the staged files, read them as ``run`` would, and test the connection."""
        try:
            config = self._stage(placeholder_plan=group.name != "plan")
        except ConfigError as error:
            print(f"wijkbode: {error}", flush=True)
            return EXIT_CONFIG
        section = getattr(config, group.name, None) if group.name != "general" else None
        if section is None or not self.connect:
            return 0
        from daemon.runtime.wiring import section_probe

        print(_both(_CHECKING), flush=True)
        findings = asyncio.run(run_probes([section_probe(section, config.state_dir)]))
        for finding in findings:
            if finding.severity is not Severity.OK or self.interactive:
                print(line(finding), flush=True)
        return exit_code(findings)

    @property
    def _secrets(self) -> str:
        return secret_dir(systemd=self.systemd)

    def _stage(self, *, placeholder_plan: bool) -> Config:
        assert self.staging is not None
        text = render(self.answers, placeholder_plan=placeholder_plan, systemd=self.systemd)
        secrets = self.staging / self._secrets
        secrets.mkdir(mode=0o700, exist_ok=True)
        if self.systemd:  # credential:NAME is read from here, as systemd would pass it
            os.environ["CREDENTIALS_DIRECTORY"] = str(secrets)
        for key, name in SECRET_FILES.items():
            value = self.answers.get(key)
            if key == "smtp_password" and self.answers.get("use_mail") == "yes":
                # Always its own file, a copy of the IMAP password when left empty:
                # the systemd units load smtp-password by that name.
                value = value or self.answers.get("imap_password")
            if value:
                _write(secrets / name, value + "\n", 0o600)
        staged = self.staging / self.target.name
        _write(staged, text, 0o644)
        return parse_config(text, staged)

    # -- finishing ----------------------------------------------------------------

    def _finish(self) -> None:
        """Move the staged files into place with Ctrl-C held off: all or nothing."""
        assert self.staging is not None
        old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            secrets = self.target.parent / self._secrets
            secrets.mkdir(mode=0o700, exist_ok=True)
            for staged in sorted((self.staging / self._secrets).iterdir()):
                os.replace(staged, secrets / staged.name)
            os.replace(self.staging / self.target.name, self.target)
            self.finished = True
            shutil.rmtree(self.staging)
            self.staging = None
            _sync_dir(secrets)
            _sync_dir(self.target.parent)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def discard(self) -> None:
        if self.staging is not None:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None
            if self.made_parent and not self.finished:
                with contextlib.suppress(OSError):  # only when still empty
                    self.target.parent.rmdir()

    # -- prompting ------------------------------------------------------------------

    def _prompt(self, text: str, default: str, *, secret: bool = False) -> str:
        shown = ("****" if secret else default) if default else ""
        prompt = f"{text} [{shown}]: " if shown else f"{text}: "
        if secret and sys.stdin.isatty():
            answer = getpass.getpass(prompt)
        else:
            print(prompt, end="", flush=True)
            read = sys.stdin.readline()
            if not read:
                raise EOFError
            answer = read.rstrip("\n")
        return answer.strip() or default


def _write(path: Path, text: str, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
