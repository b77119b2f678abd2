"""Connecting to Temporal: the client every part of the project makes, the data
converter it uses, a quiet core runtime, and the search attributes it registers."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.failure.v1 import Failure
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import PydanticJSONPlainPayloadConverter
from temporalio.converter import (
    CompositePayloadConverter,
    DataConverter,
    DefaultFailureConverter,
    DefaultPayloadConverter,
    EncodingPayloadConverter,
    JSONPlainPayloadConverter,
    PayloadConverter,
)
from temporalio.exceptions import ApplicationError
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from rapport.contract import search_attributes
from rapport.contract.plain import READABLE_FAILURES, PlainText, Unreadable
from rapport.runtime.settings import Settings, load_settings
from rapport.security.codec import PLAIN_ENCODING, PLAIN_REFUSED, EncryptionCodec, KeyRing, Plain

_QUIET: Runtime | None = None


class CompactJson(PydanticJSONPlainPayloadConverter):
    """Pydantic models as JSON; the engine's own payloads (`compact = True`: activity
    requests and replies, the workflow's input) without the fields at their defaults:
    history is what Temporal stores and bills, and a null written a million times is
    a million nulls. What other programs read (status, results) stays complete."""

    def to_payload(self, value: Any) -> Payload | None:
        if isinstance(value, BaseModel) and getattr(value, "compact", False):
            return Payload(
                metadata={"encoding": self.encoding.encode()},
                data=value.model_dump_json(exclude_defaults=True).encode(),
            )
        return super().to_payload(value)


class RefusedPlainText(EncodingPayloadConverter):
    """A payload a production worker's codec marked (it arrived in plain text): handed to
    the workflow as `PlainText`, its value read as it was written, so the journey fails
    with a clear message instead of a task failing forever (`rapport.contract.plain`)."""

    @property
    def encoding(self) -> str:
        return PLAIN_REFUSED.decode()

    def to_payload(self, value: Any) -> Payload | None:
        return None  # never written: only read

    def from_payload(self, payload: Payload, type_hint: type | None = None) -> Any:
        metadata = dict(payload.metadata)
        original = metadata.pop(PLAIN_ENCODING, b"")
        metadata["encoding"] = original
        try:
            value = _CONVERTER.payload_converter.from_payload(
                Payload(metadata=metadata, data=payload.data)
            )
        except Exception:  # not JSON: the journey fails all the same
            value = None
        return PlainText(value, original.decode(errors="replace"))


_SHARED = [
    c if not isinstance(c, JSONPlainPayloadConverter) else CompactJson()
    for c in DefaultPayloadConverter.default_encoding_payload_converters
] + [RefusedPlainText()]


class Failures(DefaultFailureConverter):
    """Failures' messages and stack traces encrypted (a provider's error can quote an
    address), except the journey's own refusals whose message holds no customer data
    (`READABLE_FAILURES`): a client without the codec reads why its start failed."""

    def __init__(self) -> None:
        super().__init__(encode_common_attributes=True)

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        super().to_failure(exception, payload_converter, failure)
        if isinstance(exception, ApplicationError) and exception.type in READABLE_FAILURES:
            failure.ClearField("encoded_attributes")
            failure.message, failure.stack_trace = exception.message, ""


class _Payloads(CompositePayloadConverter):
    """The SDK makes one of these per workflow activation: they share one set of
    converters, so pydantic's schema for a type is built once per process, not per task.

    Several payloads without type hints are what the SDK decodes when a start or signal
    carries more arguments than the workflow takes (it drops the hints when their count
    differs: `_WorkflowInstanceImpl._convert_payloads`). One that cannot be decoded there
    becomes `Unreadable` instead of an error, which would fail the journey's first
    workflow task on every retry (a start) or drop the signal unseen: the workflow
    refuses such input itself (`workflows.intake.one_argument`)."""

    def __init__(self) -> None:
        super().__init__(*_SHARED)

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        if type_hints is not None or len(payloads) < 2:
            return super().from_payloads(payloads, type_hints)
        return [self._or_unreadable(payload) for payload in payloads]

    def _or_unreadable(self, payload: Payload) -> Any:
        try:
            return super().from_payloads([payload])[0]
        except Exception as exc:
            encoding = payload.metadata.get("encoding", b"no encoding").decode(errors="replace")
            return Unreadable(f"a payload in {encoding[:40]} cannot be decoded: {exc}"[:300])


_CONVERTER = DataConverter(payload_converter_class=_Payloads)


def data_converter(settings: Settings | None = None, worker: bool = False) -> DataConverter:
    """How payloads are written to Temporal: every client and worker the project makes
    uses this factory. With encryption keys (`Settings.key_ring`), payloads are encrypted
    (`rapport.security.codec`); `settings` defaults to the environment's. A `worker`'s
    converter also decides what a payload that arrives in plain text becomes: refused in
    production (the journey fails, saying why), read with a warning in development."""
    settings = settings or load_settings()
    ring = settings.key_ring()
    if ring is None:
        return _CONVERTER
    plain: Plain = "read"
    if worker:
        plain = "refuse" if settings.environment == "production" else "warn"
    return _encrypting(ring, plain)


@lru_cache(maxsize=8)
def _encrypting(ring: KeyRing, plain: Plain = "read") -> DataConverter:
    """Payloads encrypted, and failures' messages and stack traces moved into an encrypted
    payload too (`Failures`)."""
    return dataclasses.replace(
        _CONVERTER, payload_codec=EncryptionCodec(ring, plain), failure_converter_class=Failures
    )


def plain_data_converter() -> DataConverter:
    """Without encryption whatever the settings: for histories recorded in plain text."""
    return _CONVERTER


def quiet_runtime() -> Runtime:
    """A Temporal runtime whose core logs only errors (not the test server's start-up
    warnings). One per process: a runtime owns native threads."""
    global _QUIET
    if _QUIET is None:
        logging = LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        _QUIET = Runtime(telemetry=TelemetryConfig(logging=logging))
    return _QUIET


async def connect(
    settings: Settings | None = None, runtime: Runtime | None = None, worker: bool = False
) -> Client:
    """A client for TEMPORAL_ADDRESS, with TLS or an API key for a hosted cluster; on
    `runtime` (default: the process's default runtime); a `worker`'s converter (what a
    payload in plain text becomes: `data_converter`)."""
    settings = settings or load_settings()
    tls: TLSConfig | bool = settings.temporal_tls or settings.temporal_api_key is not None
    if settings.temporal_tls_cert and settings.temporal_tls_key:
        tls = TLSConfig(
            client_cert=settings.temporal_tls_cert.read_bytes(),
            client_private_key=settings.temporal_tls_key.read_bytes(),
        )
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings, worker),
        tls=tls,
        api_key=api_key,
        runtime=runtime,
    )


_INDEXED = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Int": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "Double": IndexedValueType.INDEXED_VALUE_TYPE_DOUBLE,
}


def cli_type(key: SearchAttributeKey) -> str:  # type: ignore[type-arg]
    return str(key._metadata_type)


def create_command(namespace: str, missing: list[SearchAttributeKey]) -> str:  # type: ignore[type-arg]
    names = " ".join(f"--name {k.name} --type {cli_type(k)}" for k in missing)
    return f"temporal operator search-attribute create --namespace {namespace} {names}"


async def ensure_registered(client: Client, namespace: str) -> list[str]:
    """Register any missing search attribute; return the problems (with the exact command
    to run) when this client may not register them itself, as on a hosted cluster."""
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        known = set(existing.custom_attributes) | set(existing.system_attributes)
    except RPCError:
        known = set()  # the time-skipping test server cannot list, but can add
    missing = [key for key in search_attributes.ALL if key.name not in known]
    if not missing:
        return []
    refused: list[SearchAttributeKey] = []  # type: ignore[type-arg]
    reason = ""
    for key in missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(
                    namespace=namespace, search_attributes={key.name: _INDEXED[cli_type(key)]}
                )
            )
        except RPCError as exc:
            if exc.status == RPCStatusCode.ALREADY_EXISTS or "already exists" in exc.message:
                continue
            refused.append(key)
            reason = exc.message
    if refused:
        return [
            f"search attributes missing and not registrable here ({reason}); run:\n  "
            + create_command(namespace, refused)
        ]
    return []
