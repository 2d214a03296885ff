"""Ghost's Admin API on the wire: the Admin API key, the JWT on every request, Ghost's errors.

The key (`id:secret`) signs a short-lived HS256 token with PyJWT; every token made is registered
as a secret. Used only by `postcli.providers.ghost`."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import httpx

from postcli.config import add_secret
from postcli.errors import ProviderRefused, ProviderUnavailable

TOKEN_LIFETIME = 300  # seconds: Ghost's documented maximum
TOKEN_REUSE = 240  # a token is made again once it is this old


class GhostToken(httpx.Auth):
    """`Authorization: Ghost <jwt>` on every request, a fresh token every four minutes.

    Each token made is registered as a secret, so no output, log or ledger row can show it."""

    def __init__(self, key: str, *, clock: Callable[[], float] = time.time) -> None:
        key_id, _, secret_hex = key.partition(":")
        self._id = key_id
        self._secret = bytes.fromhex(secret_hex)
        self._clock = clock
        self._token: str | None = None
        self._made = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        import jwt

        with self._lock:
            now = self._clock()
            if self._token is None or now - self._made >= TOKEN_REUSE:
                issued = int(now)
                self._token = jwt.encode(
                    {"iat": issued, "exp": issued + TOKEN_LIFETIME, "aud": "/admin/"},
                    self._secret,
                    algorithm="HS256",
                    headers={"kid": self._id},
                )
                add_secret(self._token)
                self._made = now
            return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Ghost {self.token()}"
        yield request


def split_key(value: str) -> tuple[str, str]:
    """(id, secret) of an Admin API key, or ValueError saying what is wrong (never the key)."""
    key_id, colon, secret_hex = value.strip().partition(":")
    if not colon or not key_id or not secret_hex:
        raise ValueError("it must be the Admin API key as Ghost shows it, id:secret")
    if len(secret_hex) % 2 or not re.fullmatch(r"[0-9a-fA-F]+", secret_hex):
        raise ValueError("the part after ':' must be hexadecimal, as Ghost shows it")
    if not re.fullmatch(r"[0-9a-fA-F]+", key_id):
        raise ValueError("the part before ':' must be the key's hexadecimal id")
    return key_id, secret_hex


def posts_of(data: object, what: str) -> list[dict[str, Any]]:
    """The posts of a Ghost answer `{"posts": [{...}, ...]}`; ProviderRefused naming `what`
    (the request) when the answer has another shape."""
    posts = (data.get("posts") or []) if isinstance(data, dict) else None
    if not isinstance(posts, list) or not all(isinstance(post, dict) for post in posts):
        raise ProviderRefused(
            f"Ghost's answer to {what} is not a list of posts",
            hint="check base_url: it must be the Ghost site itself",
        )
    return posts


def first_post(data: object, what: str) -> dict[str, Any]:
    """The one post of a Ghost answer; ProviderRefused naming `what` when there is none."""
    posts = posts_of(data, what)
    if not posts:
        raise ProviderRefused(
            f"Ghost's answer to {what} holds no post",
            hint="check base_url: it must be the Ghost site itself",
        )
    return posts[0]


def email_failed(post: dict[str, Any]) -> bool:
    email = post.get("email") or {}
    return isinstance(email, dict) and email.get("status") == "failed"


def ghost_error(answer: httpx.Response) -> tuple[str, str]:
    """(code or type, message) from Ghost's `{"errors": [{message, context, type, code}]}`."""
    try:
        data = answer.json()
    except ValueError:
        return "", " ".join(answer.text.split())[:300]
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return "", " ".join(str(data).split())[:300]
    first = errors[0]
    code = str(first.get("code") or first.get("type") or "")
    message = str(first.get("message") or "")
    context = first.get("context")
    if context and str(context) not in message:
        message = f"{message} {context}"
    return code, " ".join(message.split())[:300]


def email_failure(post: dict[str, Any], redact: Callable[[str], str]) -> ProviderUnavailable:
    """Exit 4 for a post Ghost published whose email failed (it never sends that email again)."""
    email = post.get("email") or {}
    why = email.get("error") or "no reason given"
    return ProviderUnavailable(
        f"Ghost published post {post.get('id')} but its email failed: {redact(str(why))}",
        hint="Ghost sends the email once: fix its mail settings (bulk email), then retry the "
        "email from the post in Ghost Admin; postcli will not publish it again",
    )
