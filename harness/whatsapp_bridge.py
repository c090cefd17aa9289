"""A simulated mautrix-whatsapp bridge on the harness Synapse, for tests (issue 15).

What the real bridge is, as far as a Matrix room sees it:

- an application service registered with Synapse, owning the ``whatsapp_`` user
  namespace and a bridge bot (``@whatsappbot``), with an endpoint Synapse pushes
  transactions to (``AppserviceEndpoint``: accepts them and remembers them);
- one puppet per WhatsApp member, ``@whatsapp_<phone number>:server``, display
  name "<push name> (WA)", sending through the as_token (``?user_id=``);
- in an encrypted portal room ("end-to-bridge encryption"), ONE device, the
  bridge bot's, that encrypts for every puppet: the events are sent as the
  puppet, encrypted with the bot's Megolm session.

The content shapes below are written from the bridge's documented behaviour
(formatting markers kept in ``body``, ``formatted_body`` only when there is
formatting; mentions as pills with ``m.mentions``; replies without a fallback;
captions in ``body`` with a separate ``filename``; polls in the stable
``m.poll.start`` or, with ``extev_polls``, the unstable MSC3381 form; WhatsApp's
own pin as a notice that does not say which message). Nothing here is the
bridge's code.

Use::

    bridge = WhatsAppBridge.prepare(run_dir)                  # registration + endpoint
    await bridge.endpoint.start()
    synapse = SynapseServer(appservices=[bridge.registration_path])
    await synapse.start()
    bridge.attach(synapse.base_url)
    bob = await bridge.puppet("31612345678", "Bob")
    await bridge.join(bob, room_id)                           # after an invite
    await bridge.send(bob, room_id, text("*Agendapunt:* ..."))
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nio
from nio.crypto import encrypt_attachment

SERVER_NAME = "localhost"
PUPPET_PREFIX = "whatsapp_"
BOT_LOCALPART = "whatsappbot"
NAME_SUFFIX = " (WA)"  # the bridge's default displayname template: "{{.PushName}} (WA)"


# --- the content shapes ----------------------------------------------------------------


def text(body: str, formatted_body: str | None = None) -> dict[str, Any]:
    """A text message; the bridge adds HTML only when WhatsApp formatting was found."""
    content: dict[str, Any] = {"msgtype": "m.text", "body": body, "m.mentions": {}}
    if formatted_body is not None:
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = formatted_body
    return content


def mention(body: str, formatted_body: str, user_ids: list[str]) -> dict[str, Any]:
    """A message with a person picked from WhatsApp's @ suggestions: a pill."""
    content = text(body, formatted_body)
    content["m.mentions"] = {"user_ids": user_ids}
    return content


def pill(user_id: str, name: str) -> str:
    return f'<a href="https://matrix.to/#/{user_id}">{name}</a>'


def reply(content: dict[str, Any], to_event: str) -> dict[str, Any]:
    """A quoted reply on WhatsApp: a Matrix reply without the old quoted fallback."""
    return {**content, "m.relates_to": {"m.in_reply_to": {"event_id": to_event}}}


def reaction(event_id: str, key: str) -> dict[str, Any]:
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}


def image(caption: str, filename: str, media: dict[str, Any], size: int) -> dict[str, Any]:
    """A photo with a caption: the caption is ``body``, the file name separate."""
    return {
        "msgtype": "m.image",
        "body": caption or filename,
        "filename": filename,
        "info": {"mimetype": "image/jpeg", "size": size, "w": 1, "h": 1},
        "m.mentions": {},
        **media,
    }


def stable_poll(question: str, answers: list[str]) -> tuple[str, dict[str, Any]]:
    """``m.poll.start`` with extensible-events text blocks and a text fallback."""
    fallback = "\n".join([question, *(f"{n}. {a}" for n, a in enumerate(answers, 1))])
    return "m.poll.start", {
        "m.poll": {
            "kind": "m.poll.disclosed",
            "max_selections": 1,
            "question": {"m.text": [{"body": question}]},
            "answers": [{"m.id": str(n), "m.text": [{"body": a}]} for n, a in enumerate(answers)],
        },
        "m.text": [{"body": fallback}],
    }


def unstable_poll(question: str, answers: list[str]) -> tuple[str, dict[str, Any]]:
    """``org.matrix.msc3381.poll.start`` (the bridge's ``extev_polls`` option)."""
    fallback = "\n".join([question, *(f"{n}. {a}" for n, a in enumerate(answers, 1))])
    return "org.matrix.msc3381.poll.start", {
        "org.matrix.msc3381.poll.start": {
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "question": {"org.matrix.msc1767.text": question},
            "answers": [
                {"id": str(n), "org.matrix.msc1767.text": a} for n, a in enumerate(answers)
            ],
        },
        "org.matrix.msc1767.text": fallback,
    }


def whatsapp_pin_notice() -> dict[str, Any]:
    """WhatsApp's own "Pin": a notice that does not say which message was pinned."""
    return {"msgtype": "m.notice", "body": "Pinned a message", "m.mentions": {}}


# --- the appservice ---------------------------------------------------------------------


class AppserviceEndpoint:
    """The smallest appservice HTTP endpoint: accepts Synapse's transactions (and says
    no user or room alias of its namespace needs to be created on query)."""

    def __init__(self) -> None:
        self.port = 0
        self.transactions: list[dict[str, Any]] = []
        self._server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError, ValueError):
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                head = request.decode("latin-1").split("\r\n")
                method, path = head[0].split(" ")[:2]
                headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])}
                size = int(headers.get("content-length", "0") or 0)
                body = await reader.readexactly(size) if size else b""
                status, answer = self._answer(method, path, body)
                payload = json.dumps(answer).encode()
                writer.write(
                    f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
                await writer.drain()
        writer.close()

    def _answer(self, method: str, path: str, body: bytes) -> tuple[str, dict[str, Any]]:
        if method == "PUT" and "/transactions/" in path:
            with contextlib.suppress(ValueError):
                self.transactions.append(json.loads(body or b"{}"))
            return "200 OK", {}
        return "404 Not Found", {"errcode": "M_NOT_FOUND", "error": "not bridged here"}


@dataclass
class Puppet:
    """A WhatsApp member as the bridge shows them in Matrix."""

    user_id: str
    phone: str
    display_name: str


@dataclass
class WhatsAppBridge:
    """The registration, the endpoint, the puppets and (for encrypted rooms) the bot's device."""

    run_dir: Path
    as_token: str = field(default_factory=lambda: secrets.token_hex(16))
    hs_token: str = field(default_factory=lambda: secrets.token_hex(16))
    endpoint: AppserviceEndpoint = field(default_factory=AppserviceEndpoint)
    base_url: str = ""
    _bot: nio.AsyncClient | None = None
    _txn: int = 0

    @classmethod
    def prepare(cls, run_dir: Path) -> WhatsAppBridge:
        run_dir.mkdir(parents=True, exist_ok=True)
        return cls(run_dir)

    @property
    def registration_path(self) -> Path:
        return self.run_dir / "whatsapp-registration.yaml"

    @property
    def bot_user_id(self) -> str:
        return f"@{BOT_LOCALPART}:{SERVER_NAME}"

    def write_registration(self) -> Path:
        """The registration Synapse reads (JSON is YAML); call after ``endpoint.start()``."""
        registration = {
            "id": "whatsapp",
            "url": self.endpoint.url,
            "as_token": self.as_token,
            "hs_token": self.hs_token,
            "sender_localpart": BOT_LOCALPART,
            "rate_limited": False,
            "namespaces": {
                "users": [
                    {"exclusive": True, "regex": f"@{PUPPET_PREFIX}.*:{SERVER_NAME}"},
                    {"exclusive": True, "regex": f"@{BOT_LOCALPART}:{SERVER_NAME}"},
                ],
                "aliases": [],
                "rooms": [],
            },
        }
        self.registration_path.write_text(json.dumps(registration, indent=2), encoding="utf-8")
        return self.registration_path

    def attach(self, base_url: str) -> None:
        self.base_url = base_url

    async def close(self) -> None:
        if self._bot is not None:
            await self._bot.close()
            self._bot = None
        await self.endpoint.stop()

    # --- puppets ------------------------------------------------------------------------

    async def puppet(self, phone: str, push_name: str) -> Puppet:
        """Register the puppet of a WhatsApp member and give it the bridge's display name."""
        localpart = f"{PUPPET_PREFIX}{phone}"
        await self._call(
            "POST",
            "/_matrix/client/v3/register",
            {"type": "m.login.application_service", "username": localpart, "inhibit_login": True},
        )
        user_id = f"@{localpart}:{SERVER_NAME}"
        name = f"{push_name}{NAME_SUFFIX}"
        path = f"/_matrix/client/v3/profile/{_q(user_id)}/displayname"
        await self._call("PUT", path, {"displayname": name}, as_user=user_id)
        return Puppet(user_id, phone, name)

    async def join(self, who: Puppet | str, room_id: str) -> None:
        """Join ``room_id`` (after an invite) as a puppet or as the bridge bot."""
        user_id = who.user_id if isinstance(who, Puppet) else who
        await self._call("POST", f"/_matrix/client/v3/join/{_q(room_id)}", {}, as_user=user_id)

    async def send(
        self,
        puppet: Puppet,
        room_id: str,
        content: dict[str, Any],
        event_type: str = "m.room.message",
        *,
        encrypted: bool = False,
    ) -> str:
        """Send as the puppet; in an encrypted room encrypted by the bridge bot's device."""
        if encrypted:
            event_type, content = await self._encrypt(room_id, event_type, content)
        self._txn += 1
        path = (
            f"/_matrix/client/v3/rooms/{_q(room_id)}/send/{_q(event_type)}/"
            f"wa{self._txn}{secrets.token_hex(3)}"
        )
        answer = await self._call("PUT", path, content, as_user=puppet.user_id)
        return str(answer["event_id"])

    async def send_as_bot(
        self, room_id: str, content: dict[str, Any], *, encrypted: bool = False
    ) -> str:
        """Send as the bridge bot itself (its notices, its answers to ``!wa``)."""
        bot = Puppet(self.bot_user_id, "", "WhatsApp bridge bot")
        return await self.send(bot, room_id, content, encrypted=encrypted)

    async def upload(
        self, puppet: Puppet, data: bytes, filename: str, *, encrypted: bool
    ) -> dict[str, Any]:
        """Upload a photo as the bridge does; the media part of the message content."""
        payload, keys = encrypt_attachment(data) if encrypted else (data, None)
        path = "/_matrix/media/v3/upload?" + urllib.parse.urlencode(
            {"filename": filename, "user_id": puppet.user_id}
        )
        answer = await asyncio.to_thread(
            self._request,
            "POST",
            path,
            payload,
            "application/octet-stream" if encrypted else "image/jpeg",
        )
        uri = str(answer["content_uri"])
        return {"file": {**keys, "url": uri}} if keys is not None else {"url": uri}

    # --- end-to-bridge encryption: one device, the bot's --------------------------------

    async def start_encryption(self) -> None:
        """Log the bridge bot in (appservice login) and publish its device keys."""
        # Synapse hands out a working token only once the bot's user exists.
        await self._call(
            "POST",
            "/_matrix/client/v3/register",
            {"type": "m.login.application_service", "username": BOT_LOCALPART,
             "inhibit_login": True},
        )  # fmt: skip
        answer = await self._call(
            "POST",
            "/_matrix/client/v3/login",
            {
                "type": "m.login.application_service",
                "identifier": {"type": "m.id.user", "user": BOT_LOCALPART},
                "device_id": "WHATSAPPBRIDGE",
                "initial_device_display_name": "mautrix-whatsapp (simulated)",
            },
        )
        store = self.run_dir / "bot-store"
        store.mkdir(exist_ok=True)
        config = nio.AsyncClientConfig(encryption_enabled=True, pickle_key="bridge")
        bot = nio.AsyncClient(
            self.base_url, self.bot_user_id, device_id=answer["device_id"],
            store_path=str(store), config=config,
        )  # fmt: skip
        bot.restore_login(self.bot_user_id, str(answer["device_id"]), str(answer["access_token"]))
        self._bot = bot
        await self._bot_keys()

    async def bot_join(self, room_id: str) -> None:
        """The bridge bot joins the portal room (it was invited)."""
        await self.join(self.bot_user_id, room_id)

    async def _bot_keys(self) -> None:
        """Publish and fetch device keys. Synapse lets no appservice user /sync, so the
        bot learns rooms and members from the API (as the real bridge does from its
        transactions) and needs nothing else: it only encrypts, it never decrypts."""
        bot = self._require_bot()
        await bot.send_to_device_messages()
        if bot.should_upload_keys:
            await bot.keys_upload()
        if bot.should_query_keys:
            await bot.keys_query()

    async def _encrypt(
        self, room_id: str, event_type: str, content: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        bot = self._require_bot()
        if room_id not in bot.rooms:
            room = nio.MatrixRoom(room_id, self.bot_user_id, encrypted=True)
            bot.rooms[room_id] = room
        answer = await bot.joined_members(room_id)
        if not isinstance(answer, nio.JoinedMembersResponse):
            raise RuntimeError(f"bridge bot cannot see the members: {answer}")
        await self._bot_keys()
        if bot.olm is not None and bot.olm.should_share_group_session(room_id):
            shared = await bot.share_group_session(room_id, ignore_unverified_devices=True)
            if not isinstance(shared, nio.ShareGroupSessionResponse):
                raise RuntimeError(f"bridge bot could not share its room key: {shared}")
        encrypted_type, encrypted = bot.encrypt(room_id, event_type, content)
        return str(encrypted_type), dict(encrypted)

    def _require_bot(self) -> nio.AsyncClient:
        if self._bot is None:
            raise RuntimeError("call start_encryption() first")
        return self._bot

    # --- HTTP -----------------------------------------------------------------------------

    async def _call(
        self, method: str, path: str, body: dict[str, Any], *, as_user: str | None = None
    ) -> dict[str, Any]:
        if as_user is not None:
            sep = "&" if "?" in path else "?"
            path = f"{path}{sep}user_id={_q(as_user)}"
        data = json.dumps(body).encode()
        return await asyncio.to_thread(self._request, method, path, data, "application/json")

    def _request(self, method: str, path: str, data: bytes, content_type: str) -> dict[str, Any]:
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", content_type)
        request.add_header("Authorization", f"Bearer {self.as_token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                answer: dict[str, Any] = json.loads(response.read() or b"{}")
                return answer
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")
            raise RuntimeError(f"{method} {path} -> {error.code}: {detail}") from error


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")
