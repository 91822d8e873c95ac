"""HTTP plumbing shared by the live vendor clients: secrets that never print, one GET with redacted errors."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from mes_assets.sources.errors import MissingCredentialsError, SourceUnavailableError

HttpGet = Callable[[str, float], bytes]


class Secret:
    """Holds a key; its repr/str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def require_key(api_key: str | None, env_var: str, client: str) -> Secret:
    if api_key is None or not str(api_key).strip():
        raise MissingCredentialsError(env_var, client)
    return Secret(str(api_key).strip())


def urlopen_get(url: str, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 (https only, fixed hosts)
        return resp.read()


def redact(text: str, secret: Secret | None) -> str:
    if secret is None:
        return text
    return text.replace(secret.get(), "***").replace(urllib.parse.quote(secret.get()), "***")


def http_json(get: HttpGet, url: str, timeout: float, what: str, secret: Secret | None = None) -> Any:
    """GET ``url`` and decode JSON; failures become SourceUnavailableError without the key."""
    try:
        body = get(url, timeout)
    except urllib.error.HTTPError as exc:
        detail = ""
        try:
            detail = exc.read().decode("utf-8", "replace")[:300]
        except Exception:  # noqa: BLE001 - best effort detail only
            pass
        raise SourceUnavailableError(redact(f"{what}: HTTP {exc.code} {exc.reason} {detail}".strip(), secret)) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SourceUnavailableError(redact(f"{what}: request failed ({reason})", secret)) from None
    try:
        return json.loads(body)
    except ValueError:
        raise SourceUnavailableError(f"{what}: response is not JSON ({body[:120]!r})") from None
