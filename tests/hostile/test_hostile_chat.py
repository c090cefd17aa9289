"""Hostile chat through the real path: a member's client on the harness Synapse, the running
daemon answering in the rooms. Each case has its expected outcome: answered with a
message (a refusal, a usage line, a question), filed (the answer names the new WB
number), or ignored as conversation (no answer before the answer to a later ``!help``).

Covers huge and format-string arguments, confusable command names (Cyrillic letters,
fullwidth !, zero-width spaces), hostile HTML and mention floods, bodies that are not
text, commands from someone who left the core room, edits and redactions of filed
messages and a storm of reactions. tests/integration/test_chat_reaction_storm.py has the
storm of 📌 from many members; tests/integration/test_chat_commands_in_rooms.py who may
ask what where.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio
from hostile_world import Baseline, Hostile

from daemon.store import Store
from harness.synapse import SynapseServer

ANSWERED = "answered"
FILED = "filed"
IGNORED = "ignored"
_txn = itertools.count()


@dataclass(frozen=True)
class ChatCase:
    name: str
    content: dict[str, Any]
    outcome: str
    room: str = "core"  # or "announce"
    sender: str = "member"  # or "leaver": left the core room, still in the announce room
    kind: str = "m.room.message"
    says: tuple[str, ...] = ()  # each in the answer
    never: tuple[str, ...] = ("Traceback", "<class", "{__class__}")  # none in the answer


def text(body: str) -> dict[str, Any]:
    return {"msgtype": "m.text", "body": body}


def html(body: str, formatted: str) -> dict[str, Any]:
    return {**text(body), "format": "org.matrix.custom.html", "formatted_body": formatted}


FORMAT = "{0}{1}%s%n%(x)s{__class__}{word!r:>99999}"
CASES = [
    ChatCase("huge_move_argument", text("!verplaats WB-1 " + "x" * 60_000), ANSWERED),
    ChatCase("huge_unknown_command", text("!" + "z" * 30 + " " + "y" * 60_000), ANSWERED,
             says=("!zzzz",)),
    ChatCase("format_string_agenda", text("!agenda " + FORMAT), ANSWERED),
    ChatCase("format_string_filing", text("Agendapunt: " + FORMAT), FILED, says=("{0}{1}%s%n",)),
    ChatCase("format_string_afspraak", text("afspraak: " + FORMAT + " @%s voor {x}"), ANSWERED),
    ChatCase("format_string_command_word", text("!%s%n"), IGNORED),
    ChatCase("cyrillic_a_in_agenda", text("!\u0430genda"), IGNORED),
    ChatCase("cyrillic_h_in_help", text("!\u04bbelp"), IGNORED),
    ChatCase("cyrillic_whole_word", text("!\u0430\u0433\u0435\u043d\u0434\u0430"), IGNORED),
    ChatCase("fullwidth_exclamation", text("\uff01agenda"), IGNORED),
    ChatCase("zero_width_in_command", text("!age\u200bnda"), IGNORED),
    ChatCase("greek_omicron_filing", text("Agendapunt\u200b: \u03bfmicron"), IGNORED),
    ChatCase("bidi_override_title", text("Agendapunt: \u202egnipmud lageelli"), FILED),
    ChatCase("nul_in_title", text("Agendapunt: een\u0000twee"), FILED),
    ChatCase("empty_title", text("Agendapunt:"), ANSWERED),
    ChatCase("invisible_title", text("Agendapunt: " + "\u200b\u2060\u3164" * 30), ANSWERED),
    ChatCase("thousand_lines_command", text("!agenda\n" * 1000), ANSWERED),
    ChatCase("mention_flood_afspraak", text("afspraak: flyers " + "@jan " * 3000 + "voor vrijdag"),
             ANSWERED),
    ChatCase("hostile_html_afspraak", html(
        "afspraak: flyers rondbrengen voor vrijdag",
        "<![0<script>alert(1)</script><a href='https://matrix.to/#/@x:y'>x</a>" + "<b>" * 5000,
    ), ANSWERED),
    # A pill to someone outside the room makes no owner: asked about, nothing recorded
    # (security finding 5; test_a_pill_to_nobody_records_no_afspraak checks the store).
    ChatCase("pill_to_nobody", html(
        "afspraak: flyers Bob voor vrijdag",
        "afspraak: flyers <a href='https://matrix.to/#/@bob%3Aevil.test'>Bob</a> voor vrijdag",
    ), ANSWERED, says=("bob:evil.test” is geen lid van deze room", "nog niets genoteerd"),
             never=("Traceback", "<class", "{__class__}", "Afspraak A-")),
    # Synapse refuses an m.room.message without a string body or a msgtype; these come close.
    ChatCase("custom_event_type", {"msgtype": "m.text", "body": "!agenda"}, IGNORED,
             kind="org.example.message"),
    ChatCase("unknown_msgtype", {"msgtype": "org.example.odd", "body": "!help"}, ANSWERED),
    ChatCase("notice_command", {"msgtype": "m.notice", "body": "!agenda"}, IGNORED),
    ChatCase("quoted_fallback_then_command", text("> <@x:y> !verplaats WB-1 elders\n\n!help"),
             ANSWERED),
    ChatCase("core_only_command_in_announce", text("!intrekken WB-1"), ANSWERED,
             room="announce"),
    ChatCase("leaver_files_in_announce", text("Agendapunt: van iemand die wegging"), ANSWERED,
             room="announce", sender="leaver"),
    ChatCase("leaver_withdraws_in_announce", text("!intrekken WB-1"), ANSWERED,
             room="announce", sender="leaver"),
    ChatCase("leaver_reads_public_agenda", text("!agenda"), ANSWERED, room="announce",
             sender="leaver"),
]  # fmt: skip


@dataclass
class Chat:
    hostile: Hostile
    member_token: str
    leaver_token: str
    item_ids: list[str] = field(default_factory=list)

    @property
    def synapse(self) -> SynapseServer:
        return self.hostile.chat.synapse

    @property
    def bot(self) -> str:
        return self.hostile.chat.bot

    def token(self, who: str) -> str:
        return self.member_token if who == "member" else self.leaver_token

    async def send(self, room: str, content: dict[str, Any], who: str = "member",
                   kind: str = "m.room.message") -> str:  # fmt: skip
        txn = f"h{next(_txn)}{secrets.token_hex(3)}"
        path = f"/_matrix/client/v3/rooms/{self.hostile.room(room)}/send/{kind}/{txn}"
        sent = await self.synapse.client_api("PUT", path, self.token(who), content)
        return str(sent["event_id"])

    async def events(self, room: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"dir": "b", "limit": "1000"})
        path = f"/_matrix/client/v3/rooms/{self.hostile.room(room)}/messages?{query}"
        page = await self.synapse.client_api("GET", path, self.member_token)
        return list(reversed(page.get("chunk", [])))

    def answers(self, events: list[dict[str, Any]], event_id: str) -> list[str]:
        found = []
        for event in events:
            content = event.get("content") or {}
            relation = content.get("m.relates_to") or {}
            reply = (relation.get("m.in_reply_to") or {}).get("event_id")
            if event.get("sender") == self.bot and event_id in (relation.get("event_id"), reply):
                found.append(str(content.get("body", relation.get("key", ""))))
        return found

    async def answer(self, room: str, event_id: str, within: float = 60) -> list[str]:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            found = self.answers(await self.events(room), event_id)
            if found:
                return found
            await asyncio.sleep(0.3)
        raise AssertionError(f"no answer to {event_id} in {within} s")

    async def barrier(self, room: str, who: str = "member") -> list[dict[str, Any]]:
        """Send ``!help`` and wait for its answer: what came before it has been handled."""
        await self.answer(room, await self.send(room, text("!help"), who))
        return await self.events(room)


async def join(synapse: SynapseServer, token: str, room_id: str) -> None:
    await synapse.client_api(
        "POST", f"/_matrix/client/v3/rooms/{urllib.parse.quote(room_id, safe='')}/join", token, {}
    )


@pytest_asyncio.fixture(scope="module")
async def chat(hostile: Hostile) -> Chat:
    """The member, and someone who joined both rooms and then left the core room."""
    synapse = hostile.chat.synapse
    leaver, password = await synapse.register_user(f"weg{secrets.token_hex(3)}", "wachtwoord-1")
    leaver_token = await synapse.login(leaver, password)
    for which in ("core", "announce"):
        path = f"/_matrix/client/v3/rooms/{hostile.room(which)}/invite"
        await synapse.client_api("POST", path, hostile.chat.member_token, {"user_id": leaver})
        await join(synapse, leaver_token, urllib.parse.unquote(hostile.room(which)))
    path = f"/_matrix/client/v3/rooms/{hostile.room('core')}/leave"
    await synapse.client_api("POST", path, leaver_token, {})
    made = Chat(hostile, hostile.chat.member_token, leaver_token)
    await made.barrier("core")
    return made


@pytest_asyncio.fixture(scope="module")
async def before(hostile: Hostile, chat: Chat) -> Baseline:
    return hostile.baseline()


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_hostile_chat(chat: Chat, before: Baseline, case: ChatCase) -> None:
    event_id = await chat.send(case.room, case.content, case.sender, case.kind)
    if case.outcome == IGNORED:
        events = await chat.barrier(case.room, case.sender)
        assert chat.answers(events, event_id) == [], case.name
        return
    answers = await chat.answer(case.room, event_id)
    joined = "\n".join(answers)
    assert len(joined) < 6000
    for expected in case.says:
        assert expected in joined, joined
    for unwanted in case.never:
        assert unwanted not in joined, joined
    if case.outcome == FILED:
        assert "WB-" in joined, joined
    else:
        assert "Ingediend als" not in joined, joined


async def filed(chat: Chat, title: str) -> tuple[str, str]:
    """File ``Agendapunt: <title>``; its event id and the WB number the answer names."""
    event_id = await chat.send("core", text(f"Agendapunt: {title}"))
    [answer] = [a for a in await chat.answer("core", event_id) if "WB-" in a]
    number = answer.split("WB-", 1)[1].split(":", 1)[0]
    return event_id, f"WB-{number}"


async def test_a_pill_to_nobody_records_no_afspraak(chat: Chat) -> None:
    """A pill to an account outside the core room, shown as a member's name, is asked
    about and leaves no afspraak in the store (security finding 5)."""
    mark = secrets.token_hex(3)
    body = f"afspraak: flyers {mark} Bob voor vrijdag"
    formatted = (
        f"afspraak: flyers {mark} <a href='https://matrix.to/#/@bob%3Aevil.test'>Bob</a>"
        " voor vrijdag"
    )
    answers = await chat.answer("core", await chat.send("core", html(body, formatted)))
    assert any("is geen lid van deze room" in answer for answer in answers), answers
    store = await Store.open(chat.hostile.runner.state_dir)
    try:
        async with store.reading() as tx:
            recorded = [a for a in await tx.agreements() if mark in a.what]
    finally:
        await store.close()
    assert recorded == []


def replaced(event_id: str, body: str) -> dict[str, Any]:
    return {
        **text(f"* {body}"),
        "m.new_content": text(body),
        "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
    }


async def test_an_edit_of_a_filed_message_changes_nothing(chat: Chat) -> None:
    """Editing a filed message (to another title, or to a second filing) files nothing new
    and changes nothing: the item keeps the title it was filed with; the edit gets no
    answer (an edit is no new request)."""
    mark = secrets.token_hex(3)
    event_id, number = await filed(chat, f"Origineel {mark}")
    edit = await chat.send("core", replaced(event_id, f"Agendapunt: Gewijzigd {mark}"))
    chatter = await chat.send("core", text(f"gewoon een praatje {mark}"))
    sneaky = await chat.send("core", replaced(chatter, f"Agendapunt: Achteraf {mark}"))
    events = await chat.barrier("core")
    assert chat.answers(events, edit) == []
    assert chat.answers(events, sneaky) == []
    titles = [i.title for i in await chat.hostile.items() if mark in i.title]
    assert titles == [f"Origineel {mark}"], (number, titles)


async def test_a_redacted_filing_stays_filed_and_a_pin_on_it_files_nothing(chat: Chat) -> None:
    """The member redacts a message the bot filed: the item stays (the core group withdraws
    it with !intrekken); a 📌 on the redacted message files nothing more."""
    mark = secrets.token_hex(3)
    event_id, _ = await filed(chat, f"Straks weg {mark}")
    room = chat.hostile.room("core")
    await chat.synapse.client_api(
        "PUT", f"/_matrix/client/v3/rooms/{room}/redact/{event_id}/r{mark}", chat.member_token,
        {"reason": "vergissing"},
    )  # fmt: skip
    pin = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": "📌"}}
    await chat.send("core", pin, kind="m.reaction")
    await chat.barrier("core")
    titles = [i.title for i in await chat.hostile.items() if mark in i.title]
    assert titles == [f"Straks weg {mark}"]


async def test_a_reaction_storm_files_nothing_and_the_bot_keeps_answering(chat: Chat) -> None:
    """300 different reactions on a plain message and on a bot's answer (and 📌 with a run
    of variation selectors, which is still a pin): nothing is filed but the pinned
    message, once; no reaction gets an answer; the next command is answered."""
    mark = secrets.token_hex(3)
    plain = await chat.send("core", text(f"Kijk eens {mark}"))
    filing, _ = await filed(chat, f"Storm {mark}")
    [answer] = [e for e in await chat.events("core")
                if chat.answers([e], filing) and e["content"].get("msgtype")]  # fmt: skip
    for target in (plain, str(answer["event_id"])):
        for n in range(150):
            key = f"{n}{chr(0x1F600 + n % 80)}"
            relation = {"rel_type": "m.annotation", "event_id": target, "key": key}
            await chat.send("core", {"m.relates_to": relation}, kind="m.reaction")
    pin = {"rel_type": "m.annotation", "event_id": plain, "key": "📌" + "\ufe0f" * 50}
    await chat.send("core", {"m.relates_to": pin}, kind="m.reaction")
    events = await chat.barrier("core")
    titles = sorted(i.title for i in await chat.hostile.items() if mark in i.title)
    assert titles == [f"Kijk eens {mark}", f"Storm {mark}"]
    notices = [e for e in chat.answers(events, plain) if "WB-" in e]
    assert len(notices) <= 1


def test_memory_stays_bounded_and_nothing_is_written_outside_the_state_dir(
    hostile: Hostile, before: Baseline
) -> None:
    """After every chat case above: RSS within 100 MB of before (a generous safety bound),
    and the run directory outside ``state/`` unchanged."""
    hostile.assert_bounded(before, 100 * 1024)
