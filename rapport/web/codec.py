"""The codec endpoints: Temporal's remote codec protocol, so the web UI (started with
`--ui-codec-endpoint {RAPPORT_PORTAL_URL}/codec`) shows decrypted payloads to operators.

`POST /codec/decode` and `POST /codec/encode` take and return `{"payloads": [...]}` (each
payload as protobuf JSON: base64 metadata values and data). With RAPPORT_CODEC_TOKEN set
a request must carry `Authorization: Bearer <token>` (the UI forwards an operator's
credentials when told to); without it only requests from this machine are served, and
only in development (`loopback_without_token`): in production the token is required.
The Host header is checked before any of this (`rapport.web.shield`): a page on another
site whose name points at 127.0.0.1 (DNS rebinding) gets 400, not payloads.
"""

from __future__ import annotations

import json
import logging

from google.protobuf.json_format import MessageToDict, ParseDict, ParseError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payloads

from rapport.runtime.settings import LOOPBACK
from rapport.security.codec import EncryptionCodec, PayloadUnreadable
from rapport.security.compare import same
from rapport.web.problems import problem

log = logging.getLogger(__name__)


class CodecEndpoints:
    def __init__(
        self,
        codec: EncryptionCodec | None,
        token: str | None,
        allowed_origins: list[str],
        loopback_without_token: bool = True,
    ) -> None:
        self.codec, self.token, self.origins = codec, token, allowed_origins
        self.loopback_without_token = loopback_without_token

    def routes(self) -> list[Route]:
        return [
            Route("/codec/encode", self.encode, methods=["POST", "OPTIONS"]),
            Route("/codec/decode", self.decode, methods=["POST", "OPTIONS"]),
        ]

    async def encode(self, request: Request) -> Response:
        return await self._handle(request, "encode")

    async def decode(self, request: Request) -> Response:
        return await self._handle(request, "decode")

    async def _handle(self, request: Request, direction: str) -> Response:
        cors = self._cors(request)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers=cors)
        refusal = self._refusal(request)
        if refusal is not None:
            return problem(refusal[0], refusal[1], headers=cors)
        if self.codec is None:
            return problem(
                404, "encryption is off: RAPPORT_ENCRYPTION_KEYS is not set", headers=cors
            )
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise ValueError("not an object")
            payloads = ParseDict(body, Payloads()).payloads
        except (ValueError, ParseError, RecursionError) as exc:
            return problem(400, f'the body is not {{"payloads": [...]}}: {exc}', headers=cors)
        try:
            done = await (
                self.codec.encode(payloads)
                if direction == "encode"
                else self.codec.decode(payloads)
            )
        except PayloadUnreadable as exc:
            return problem(422, str(exc), headers=cors)
        log.info("codec %s", direction, extra={"payloads": len(done)})
        return JSONResponse(MessageToDict(Payloads(payloads=done)), headers=cors)

    def _refusal(self, request: Request) -> tuple[int, str] | None:
        if self.token is not None:
            if not same(request.headers.get("authorization"), f"Bearer {self.token}"):
                return 401, "a bearer token is required"
            return None
        if not self.loopback_without_token:
            return 403, "set RAPPORT_CODEC_TOKEN: in production the codec requires it"
        client = request.client.host if request.client else ""
        if client not in LOOPBACK:
            return 403, "set RAPPORT_CODEC_TOKEN to serve the codec beyond this machine"
        return None

    def _cors(self, request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if origin is None or origin not in self.origins:
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, X-Namespace, Authorization",
            "Vary": "Origin",
        }
