"""The intake API on `journey web` (docs/billing-integration.md, "The HTTP API"):

- `POST /v1/journeys`, `GET|PATCH /v1/accounts/{account_id}`,
  `POST /v1/accounts/{account_id}/payments`, `POST /v1/accounts/{account_id}/events`
  (`rapport.intake.service` does each), `GET /openapi.json` (no key needed);
- `Authorization: Bearer KEY` (`journey api-key create NAME`), else 401 (a key read from
  the store is trusted for `keys.FRESH` seconds: a revocation holds within a second);
- `Idempotency-Key` on every POST and PATCH: the first answer is kept 24 hours in the
  store and a retry gets it again; the same key with another request gets 422, and while
  the first still runs, 409 (a first that never answered, its process gone, is run again
  by a retry after `rapport.store.intake.CLAIM_LEASE`);
- failed authentications limited per client address in each process's memory
  (`strikes.Strikes`: 429 with Retry-After, before a store read; a key the process has
  served still passes, `KeyCheck.knows`);
- per-key rate limits shared by every web process (`guard.Allowances`, counted in the
  store a few requests at a time; 429 with Retry-After) and a body limit
  (`shield.BodyLimit`, the app's `BODY_LIMITS`), from settings;
- every refusal an RFC 9457 problem document naming the field (and echoing a
  `payment_id`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.intake.depth import MAX_DEPTH, too_deep
from rapport.intake.keys import KeyCheck
from rapport.intake.openapi import document
from rapport.intake.service import Intake, Problem
from rapport.store.database import StoreUnavailable
from rapport.store.intake import ApiKey, IdempotencyKeys, Remembered, scope_of
from rapport.store.thread import StoreThread
from rapport.web.guard import Allowances
from rapport.web.problems import problem
from rapport.web.strikes import Strikes

log = logging.getLogger("rapport.intake")
KEPT = timedelta(hours=24)  # how long an Idempotency-Key's first answer is kept
_ACCOUNT = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
Handler = Callable[[Request, ApiKey, Any], Awaitable[tuple[int, BaseModel]]]


class IntakeApi:
    def __init__(
        self,
        intake: Intake,
        keys: KeyCheck,
        idempotency: IdempotencyKeys,
        limits: Allowances,
        per_minute: int,
        strikes: Strikes,
    ) -> None:
        self.intake, self.keys, self.idempotency = intake, keys, idempotency
        self.limits, self.per_minute, self.strikes = limits, per_minute, strikes
        # SQLite takes one writer at a time: one thread; PostgreSQL: a call waits on the
        # network, a few at once
        self.thread = StoreThread("intake-store", 1 if idempotency.store.is_sqlite else 4)

    def routes(self) -> list[Route]:
        return [
            Route("/openapi.json", self.openapi, methods=["GET"]),
            Route("/v1/journeys", self._writer(self.start), methods=["POST"]),
            Route("/v1/accounts/{account_id}", self.status, methods=["GET"]),
            Route("/v1/accounts/{account_id}", self._writer(self.update), methods=["PATCH"]),
            Route("/v1/accounts/{account_id}/payments", self._writer(self.pay), methods=["POST"]),
            Route("/v1/accounts/{account_id}/events", self._writer(self.event), methods=["POST"]),
        ]

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(document())

    # --- the operations ---------------------------------------------------------------

    async def start(self, request: Request, key: ApiKey, body: Any) -> tuple[int, BaseModel]:
        answer = await self.intake.start(body)
        return (201 if answer.started else 200), answer

    async def status(self, request: Request) -> Response:
        async def read(key: ApiKey, scope: str | None, remembered: Remembered | None) -> Response:
            return _json(200, await self.intake.status(_account_id(request)))

        return await self._guarded(request, read)

    async def update(self, request: Request, key: ApiKey, body: Any) -> tuple[int, BaseModel]:
        return 200, await self.intake.update(_account_id(request), body)

    async def pay(self, request: Request, key: ApiKey, body: Any) -> tuple[int, BaseModel]:
        return 201, await self.intake.pay(_account_id(request), body)

    async def event(self, request: Request, key: ApiKey, body: Any) -> tuple[int, BaseModel]:
        reference = f"api:{key.key_id}:{request.headers.get('idempotency-key', '')}"
        return 202, await self.intake.event(_account_id(request), body, reference)

    # --- what every request passes --------------------------------------------------------

    def _writer(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A POST or PATCH: authenticated, rate-limited, its body read as JSON, answered
        once per Idempotency-Key."""

        async def endpoint(request: Request) -> Response:
            given = request.headers.get("idempotency-key")
            if given is None:
                return problem(
                    400,
                    "the Idempotency-Key header is required on POST and PATCH",
                    "Idempotency-Key",
                )
            if not _IDEMPOTENCY_KEY.match(given):
                return problem(
                    400, "Idempotency-Key: 1-255 printable ASCII characters", "Idempotency-Key"
                )
            raw = await request.body()
            body = _parsed(raw)
            digest = _request_hash(request, raw, body)

            async def write(
                key: ApiKey, scope: str | None, remembered: Remembered | None
            ) -> Response:
                assert scope is not None
                if remembered is not None:
                    return _remembered(remembered, digest)
                return await self._once(request, key, handler, body, scope)

            return await self._guarded(request, write, (given, digest))

        return endpoint

    async def _guarded(
        self,
        request: Request,
        then: Callable[[ApiKey, str | None, Remembered | None], Awaitable[Response]],
        claim: tuple[str, str] | None = None,
    ) -> Response:
        """Who asks, within their limit, and (a write) its Idempotency-Key claimed: one
        trip to the store's thread (where the key and the limit mostly answer from
        memory: `KeyCheck`, `Allowances`), then `then`."""
        address = request.client.host if request.client else ""
        wait = self.strikes.waiting(address)
        authorization = request.headers.get("authorization")
        # answered from memory, no store read for a key guesser; a key this process has
        # served passes (a billing system sharing its address with one: a NAT, a proxy)
        if wait is not None and not self.keys.knows(authorization):
            return problem(
                429,
                f"more than {self.strikes.per_minute} requests without a valid API key "
                "this minute from this address",
                headers={"Retry-After": str(wait)},
            )
        try:
            gate = await self.thread.run(lambda: self._gate(authorization, claim))
            if isinstance(gate, Response):
                if gate.status_code == 401:
                    self.strikes.failed(address)
                return gate
            return await then(*gate)
        except Problem as refused:
            return _problem(refused)
        except StoreUnavailable as exc:
            log.warning("store unavailable: %s", exc)
            return problem(503, "the store did not answer; try again", headers={"Retry-After": "5"})

    def _gate(
        self, authorization: str | None, claim: tuple[str, str] | None
    ) -> Response | tuple[ApiKey, str | None, Remembered | None]:
        key = self.keys.verify(authorization)
        if key is None:
            return problem(
                401,
                "an API key is required: Authorization: Bearer KEY (journey api-key create)",
                headers={"WWW-Authenticate": 'Bearer realm="rapport"'},
            )
        limit = key.per_minute or self.per_minute
        wait = self.limits.allowed("api", key.key_id, limit)
        if wait is not None:
            return problem(
                429,
                f"more than {limit} requests this minute for this API key",
                headers={"Retry-After": str(wait)},
            )
        if claim is None:
            return key, None, None
        scope = scope_of(key.key_id, claim[0])
        now = datetime.now(UTC)
        return key, scope, self.idempotency.claim(scope, claim[1], now, now + KEPT)

    async def _once(
        self, request: Request, key: ApiKey, handler: Handler, body: Any, scope: str
    ) -> Response:
        """The first request under its Idempotency-Key: its answer kept (5xx and 429 are
        not answers: the claim is let go, a retry runs again)."""
        try:
            response = await self._answer(request, key, handler, body)
        except BaseException:
            await self.thread.run(lambda: self.idempotency.release(scope))
            raise
        if response.status_code >= 500 or response.status_code == 429:
            await self.thread.run(lambda: self.idempotency.release(scope))
        else:
            status, kept = response.status_code, bytes(response.body).decode()
            location = response.headers.get("location")
            await self.thread.run(lambda: self.idempotency.answer(scope, status, kept, location))
        return response

    async def _answer(self, request: Request, key: ApiKey, handler: Handler, body: Any) -> Response:
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            return problem(
                415,
                f"Content-Encoding: bodies must not be compressed ({encoding[:40]}): send "
                "the JSON as it is",
                "Content-Encoding",
            )
        if isinstance(body, NotJson):
            return problem(400, f"the body is not JSON: {body.error}"[:300])
        deep = too_deep(body)
        if deep is not None:
            return problem(422, f"{deep}: nested more than {MAX_DEPTH} levels", deep.rstrip("."))
        try:
            status, answer = await handler(request, key, body)
        except Problem as refused:
            return _problem(refused)
        response = _json(status, answer)
        if status == 201 and request.url.path == "/v1/journeys":
            account_id = getattr(answer, "account_id", "")
            response.headers["Location"] = f"/v1/accounts/{account_id}"
        return response


def _account_id(request: Request) -> str:
    account_id = str(request.path_params["account_id"])
    if not _ACCOUNT.match(account_id):
        raise Problem(422, "account_id: 1-64 of A-Z a-z 0-9 . _ -", "account_id")
    return account_id


@dataclass(frozen=True)
class NotJson:
    """A body that is not JSON (answered 400 once its key is claimed)."""

    error: str


def _parsed(raw: bytes) -> Any:
    """The body as JSON (None when empty), or NotJson."""
    try:
        return json.loads(raw) if raw else None
    except (ValueError, RecursionError) as exc:
        return NotJson(str(exc))


def _request_hash(request: Request, raw: bytes, body: Any) -> str:
    """What makes a request the same request: method, path and body (as JSON means it,
    so a retry that writes its keys in another order is the same; `body`: `raw` parsed,
    by `_parsed`)."""
    canonical = raw
    if raw and not isinstance(body, NotJson):
        with contextlib.suppress(ValueError, RecursionError):
            canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(
        request.method.encode() + b" " + request.url.path.encode() + b"\n" + canonical
    ).hexdigest()


def _json(status: int, answer: BaseModel) -> Response:
    return Response(answer.model_dump_json(), status_code=status, media_type="application/json")


def _remembered(remembered: Remembered, digest: str) -> Response:
    if remembered.request_hash != digest:
        return problem(
            422,
            "this Idempotency-Key was used for another request (another path or body) in the "
            "last 24 hours: use a new key for a new request",
            "Idempotency-Key",
        )
    if remembered.status is None:
        return problem(
            409,
            "the first request with this Idempotency-Key is still running; retry",
            headers={"Retry-After": "1"},
        )
    return _replayed(remembered.status, remembered.body or "", remembered.location)


def _replayed(status: int, body: str, location: str | None) -> Response:
    media = "application/problem+json" if status >= 400 else "application/json"
    headers = {"Idempotent-Replayed": "true"}
    if location:
        headers["Location"] = location
    return Response(body, status_code=status, media_type=media, headers=headers)


def _problem(refused: Problem) -> Response:
    headers = {"Retry-After": str(refused.retry_after)} if refused.retry_after else None
    errors = [e.model_dump() for e in refused.errors] or None
    return problem(
        refused.status,
        refused.detail,
        refused.field,
        headers=headers,
        payment_id=refused.payment_id,
        errors=errors,
    )
