"""What every request passes through before (and after) any handler, in one place:

- `SecurityHeaders`: the security headers of every response (`guard.headers`), plus
  HSTS and `Secure` on every cookie when the public URL is https (whether or not the
  TLS proxy in front says so);
- `BodyLimit`: a body larger than its route's limit is refused with 413 before it is
  read: at once when `Content-Length` says so (and the connection closed, so the rest
  is never read), else as soon as the bytes received pass the limit;
- `Refusals`: how a request no handler takes is answered (404, 405, 400 for a body
  that cannot be read, 413): an RFC 9457 problem document on the API and webhook
  paths, the portal's own page everywhere else; never a bare "Not Found";
- `StaticFiles`: Starlette's, with paths it cannot look up (a NUL byte, a name too
  long for the file system) answered 404 instead of raising.

- `OurHosts`: a Host header not our own is refused (400) before all of these, in the
  form of every other refusal (a problem document or the portal's page).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping, Sequence

from python_multipart.exceptions import FormParserError
from starlette import staticfiles
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.web.problems import problem

HSTS = "max-age=31536000"  # a year; subdomains are the operator's to decide
API_PATHS = ("/codec/", "/webhooks/", "/sms/", "/dev-provider/v1/", "/health", "/v1/", "/openapi")
Page = Callable[[Request, int], Response]


class Refusals:
    """A refusal in the form its path's callers read: JSON for machines, a page for
    people (`page` renders the portal's)."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def answer(
        self,
        request: Request,
        status: int,
        detail: str,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if request.url.path.startswith(API_PATHS):
            return problem(status, detail, headers=dict(headers or {}))
        response = self.page(request, status)
        response.headers.update(headers or {})
        return response

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """Starlette's HTTPException: no route (404), a method the route does not take
        (405, with its Allow header), a form that cannot be parsed (400)."""
        assert isinstance(exc, HTTPException)
        details = {
            404: "nothing is served at this path",
            405: f"this path takes {(exc.headers or {}).get('Allow', 'other methods')}",
        }
        detail = details.get(exc.status_code, exc.detail)
        return self.answer(request, exc.status_code, detail, exc.headers)

    async def unreadable_form(self, request: Request, exc: Exception) -> Response:
        """A body its Content-Type says is a form, that is not one (python-multipart's
        own errors, which Starlette lets through)."""
        return self.answer(request, 400, "the body cannot be read as the form it says it is")

    async def crash(self, request: Request, exc: Exception) -> Response:
        """Our own bug: still a problem document or a page (the traceback goes to the
        log, as it must: a bug to fix)."""
        return self.answer(request, 500, "something went wrong on our side")


class OurHosts:
    """Starlette's `TrustedHostMiddleware` check (names, `*.example.com` patterns; the
    name's case does not matter), with its refusal answered as every other refusal is
    rather than a bare "Invalid host header"."""

    def __init__(
        self,
        app: ASGIApp,
        allowed_hosts: Sequence[str],
        refuse: Callable[[Request, int, str, Mapping[str, str]], Response],
    ) -> None:
        self.app, self.refuse = app, refuse
        self.allowed = [pattern.lower() for pattern in allowed_hosts]

    def ours(self, host: str) -> bool:
        return any(
            host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:]))
            for pattern in self.allowed
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or "*" in self.allowed:
            await self.app(scope, receive, send)
            return
        if self.ours(host_name(Headers(scope=scope).get("host", ""))):
            await self.app(scope, receive, send)
            return
        detail = "this server does not answer for that name (the Host header)"
        response = self.refuse(Request(scope), 400, detail, {})
        await response(scope, receive, send)


def host_name(header: str) -> str:
    """The name in a Host header, without its port: `pay.example.com:443`, `[::1]:8000`
    (an IPv6 address in brackets, which a split at the first colon would cut apart)."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else ""
    return header.rpartition(":")[0] if ":" in header else header


class SecurityHeaders:
    def __init__(self, app: ASGIApp, headers: dict[str, str], https: bool) -> None:
        self.app, self.https = app, https
        self.headers = {**headers, **({"Strict-Transport-Security": HSTS} if https else {})}
        # as the ASGI message carries them (lower-case names), made once
        self._raw = [
            (n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in self.headers.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                given = list(message.get("headers", []))
                present = {bytes(name).lower() for name, _ in given}
                given += [header for header in self._raw if header[0] not in present]
                if self.https:
                    given = [_secure(name, value) for name, value in given]
                message["headers"] = given
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _secure(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() != b"set-cookie":
        return name, value
    attributes = [part.strip().lower() for part in value.split(b";")[1:]]
    return name, value if b"secure" in attributes else value + b"; Secure"


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """`limits`: (path prefix, bytes), the first that matches wins; `default` for the
    rest."""

    def __init__(
        self,
        app: ASGIApp,
        limits: Sequence[tuple[str, int]],
        default: int,
        refuse: Callable[[Request, int, str, Mapping[str, str]], Response],
    ) -> None:
        self.app, self.limits, self.default, self.refuse = app, limits, default, refuse

    def limit_for(self, path: str) -> int:
        return next((size for prefix, size in self.limits if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, limit)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if started:  # a handler that answers before reading: nothing more to say
                return
            await self._too_large(scope, receive, send, limit)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = self.refuse(
            Request(scope),
            413,
            f"the body is larger than this path takes ({limit} bytes)",
            {"Connection": "close"},  # the rest of the body is never read
        )
        await response(scope, receive, send)


def handlers(refusals: Refusals) -> dict[type[Exception] | int, Callable[..., Awaitable[Response]]]:
    """The app's exception handlers."""
    return {
        HTTPException: refusals.http_error,
        FormParserError: refusals.unreadable_form,
        Exception: refusals.crash,
    }


class StaticFiles(staticfiles.StaticFiles):
    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        try:
            return super().lookup_path(path)
        except (ValueError, OSError):  # "embedded null byte", "File name too long"
            return "", None
