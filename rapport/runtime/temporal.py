"""Connecting to Temporal: the client every part of the project makes, the data
converter it uses, a quiet core runtime, and the search attributes it registers."""

from __future__ import annotations

import dataclasses
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import IndexedValueType
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
    DefaultFailureConverterWithEncodedAttributes,
    DefaultPayloadConverter,
    JSONPlainPayloadConverter,
)
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from rapport.contract import search_attributes
from rapport.runtime.settings import Settings, load_settings
from rapport.security.codec import EncryptionCodec, KeyRing

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


_SHARED = [
    c if not isinstance(c, JSONPlainPayloadConverter) else CompactJson()
    for c in DefaultPayloadConverter.default_encoding_payload_converters
]


class _Payloads(CompositePayloadConverter):
    """The SDK makes one of these per workflow activation: they share one set of
    converters, so pydantic's schema for a type is built once per process, not per task."""

    def __init__(self) -> None:
        super().__init__(*_SHARED)


_CONVERTER = DataConverter(payload_converter_class=_Payloads)


def data_converter(settings: Settings | None = None) -> DataConverter:
    """How payloads are written to Temporal: every client and worker the project makes
    uses this factory. With encryption keys (`Settings.key_ring`), payloads are encrypted
    (`rapport.security.codec`); `settings` defaults to the environment's."""
    ring = (settings or load_settings()).key_ring()
    return _CONVERTER if ring is None else _encrypting(ring)


@lru_cache(maxsize=8)
def _encrypting(ring: KeyRing) -> DataConverter:
    """Payloads encrypted, and failures' messages and stack traces moved into an encrypted
    payload too (a provider's error can quote an address)."""
    return dataclasses.replace(
        _CONVERTER,
        payload_codec=EncryptionCodec(ring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
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


async def connect(settings: Settings | None = None, runtime: Runtime | None = None) -> Client:
    """A client for TEMPORAL_ADDRESS, with TLS or an API key for a hosted cluster; on
    `runtime` (default: the process's default runtime)."""
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
        data_converter=data_converter(settings),
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
