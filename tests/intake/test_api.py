"""The intake API against the real web app on loopback, with the real dev server and a
worker: every endpoint, API keys, idempotent retries, rate and body limits, problem
documents, and /openapi.json beside schemas/."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from rapport.contract.names import WORKFLOW_TYPE, workflow_id
from rapport.contract.payloads import PaymentReceived
from rapport.contract.schemas import FOLDER
from rapport.intake import keys, service
from rapport.runtime.servers import free_port, start_local
from rapport.runtime.settings import Settings
from rapport.runtime.temporal import data_converter
from rapport.store.intake import ApiKeys
from rapport.store.payments import PaymentLedger
from rapport.web import strikes
from rapport.web.app import serve_web
from rapport.web.strikes import Strikes
from tests.stores import migrated_sqlite
from tests.web.portal_rig import Rig, portal_rig

pytestmark = pytest.mark.timeout(180)


@pytest_asyncio.fixture(scope="module")
async def rig(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Rig]:
    async with portal_rig(
        tmp_path_factory.mktemp("intake-api"),
        api_requests_per_key=5000,
        api_failed_auth_per_address=10_000,  # many tests try bad keys from 127.0.0.1
    ) as r:
        yield r


@pytest.fixture(scope="module")
def key(rig: Rig) -> str:
    return keys.create(ApiKeys(rig.store), f"billing-{uuid.uuid4().hex[:6]}").key


@pytest_asyncio.fixture
async def api(rig: Rig, key: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=rig.web, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as client:
        yield client


def once() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def start_body(rig: Rig, account_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "account": rig.account(account_id, **changes).model_dump(mode="json"),
        "journey": "portal",
    }


def is_problem(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    assert document["title"]
    assert document["detail"]
    assert "Traceback" not in response.text
    if field is not None:
        assert document["field"] == field, document
        assert field in {e["field"] for e in document["errors"]}, document
    return document


async def started(api: httpx.AsyncClient, rig: Rig) -> str:
    account_id = f"API-{uuid.uuid4().hex[:8]}"
    response = await api.post("/v1/journeys", json=start_body(rig, account_id), headers=once())
    assert response.status_code == 201, response.text
    return account_id


async def test_every_endpoint_needs_a_live_key(rig: Rig, key: str) -> None:
    calls = [
        ("POST", "/v1/journeys"),
        ("GET", "/v1/accounts/A-1"),
        ("PATCH", "/v1/accounts/A-1"),
        ("POST", "/v1/accounts/A-1/payments"),
        ("POST", "/v1/accounts/A-1/events"),
    ]
    revoked = keys.create(ApiKeys(rig.store), f"old-{uuid.uuid4().hex[:6]}")
    assert ApiKeys(rig.store).revoke(
        revoked.name, __import__("datetime").datetime.now(tz=__import__("datetime").UTC)
    )
    async with httpx.AsyncClient(base_url=rig.web) as http:
        headers_tried: tuple[str | bytes | None, ...] = (
            None,
            "Bearer nonsense",
            f"Bearer {key[:-1]}x",  # the right id, a wrong secret
            f"Bearer {revoked.key}",
            f"Basic {key}",
            "Bearer rk_\u00e9".encode("latin-1"),
        )
        for header in headers_tried:
            for method, path in calls:
                headers: list[tuple[bytes, bytes]] = [
                    (b"Idempotency-Key", uuid.uuid4().hex.encode())
                ]
                if header:
                    given = header if isinstance(header, bytes) else header.encode()
                    headers.append((b"Authorization", given))
                response = await http.request(method, path, headers=headers, json={})
                document = is_problem(response, 401)
                assert response.headers["WWW-Authenticate"].startswith("Bearer")
                assert "journey api-key create" in document["detail"]
        spec = await http.get("/openapi.json")  # the description needs no key
        assert spec.status_code == 200


async def test_start_returns_the_running_journey_and_says_when_data_differs(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    account_id = f"API-{uuid.uuid4().hex[:8]}"
    body = start_body(rig, account_id)
    first = await api.post("/v1/journeys", json=body, headers=once())
    assert first.status_code == 201, first.text
    assert first.headers["Location"] == f"/v1/accounts/{account_id}"
    answer = first.json()
    assert answer["started"] is True
    assert answer["workflow_id"] == f"delinquency-{account_id}"

    same_meaning = json.loads(json.dumps(body))
    same_meaning["account"]["balance"] = str(float(body["account"]["balance"]))  # "300.0"
    same_meaning["account"]["consent"] = dict(reversed(body["account"]["consent"].items()))
    again = await api.post("/v1/journeys", json=same_meaning, headers=once())
    assert again.status_code == 200, again.text
    assert again.json()["started"] is False
    assert again.json()["differs"] is False  # the same account, written another way

    other = json.loads(json.dumps(body))
    other["account"]["days_past_due"] = body["account"]["days_past_due"] + 3
    changed = await api.post("/v1/journeys", json=other, headers=once())
    assert changed.json()["differs"] is True
    assert changed.json()["run_id"] == answer["run_id"]


async def test_a_bad_start_is_refused_in_the_call_naming_the_field(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    body = start_body(rig, "BAD-1")
    body["account"]["balance"] = "-5.00"
    document = is_problem(
        await api.post("/v1/journeys", json=body, headers=once()), 422, "account.balance"
    )
    assert "greater than zero" in document["detail"]
    body = start_body(rig, "BAD-2")
    body["account"]["customer"]["timezone"] = "Mars/Olympus"
    body["account"]["currency"] = "usd"
    document = is_problem(await api.post("/v1/journeys", json=body, headers=once()), 422)
    assert {e["field"] for e in document["errors"]} == {
        "account.customer.timezone",
        "account.currency",
    }
    body = start_body(rig, "BAD-3")
    body["journey"] = "no-such-journey"
    document = is_problem(await api.post("/v1/journeys", json=body, headers=once()), 422, "journey")
    assert "portal" in document["detail"]  # the journeys there are
    is_problem(await api.post("/v1/journeys", content=b"{not json", headers=once()), 400)
    is_problem(await api.post("/v1/journeys", json=[1, 2], headers=once()), 422)
    document = is_problem(await api.post("/v1/journeys", json=body), 400, "Idempotency-Key")
    is_problem(await api.get("/v1/accounts/no%20spaces"), 422, "account_id")
    is_problem(await api.get("/v1/nothing-here"), 404)
    is_problem(await api.delete("/v1/journeys"), 405)


async def test_a_retry_gets_the_first_answer_and_another_request_under_its_key_is_refused(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    account_id = f"API-{uuid.uuid4().hex[:8]}"
    headers = once()
    body = start_body(rig, account_id)
    first = await api.post("/v1/journeys", json=body, headers=headers)
    retry = await api.post(
        "/v1/journeys",
        content=json.dumps(body, indent=2),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert first.status_code == retry.status_code == 201  # not 200: the first answer, again
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["Location"] == first.headers["Location"]
    other = start_body(rig, f"{account_id}-2")
    is_problem(await api.post("/v1/journeys", json=other, headers=headers), 422, "Idempotency-Key")
    # a refusal is an answer too: the same bad request gets the same refusal
    bad = {"amount": "-1", "currency": "USD", "payment_id": "P-neg"}
    pay_headers = once()
    one = await api.post(f"/v1/accounts/{account_id}/payments", json=bad, headers=pay_headers)
    two = await api.post(f"/v1/accounts/{account_id}/payments", json=bad, headers=pay_headers)
    assert one.status_code == two.status_code == 422, (one.text, two.text)
    assert one.json() == two.json()
    assert two.headers["Idempotent-Replayed"] == "true"


async def test_status_update_and_their_refusals(api: httpx.AsyncClient, rig: Rig) -> None:
    account_id = await started(api, rig)
    status = await api.get(f"/v1/accounts/{account_id}")
    assert status.status_code == 200, status.text
    assert status.json()["account_id"] == account_id
    assert status.json()["journey_id"] == "portal"
    is_problem(await api.get("/v1/accounts/NOBODY-1"), 404)

    update = await api.patch(
        f"/v1/accounts/{account_id}",
        json={"days_past_due": 40, "attributes": {"tier": "gold"}},
        headers=once(),
    )
    assert update.status_code == 200, update.text
    assert update.json()["updated"] == ["attributes", "days_past_due"]
    is_problem(
        await api.patch(f"/v1/accounts/{account_id}", json={"balance": "12.345"}, headers=once()),
        422,
        "balance",
    )
    is_problem(
        await api.patch(f"/v1/accounts/{account_id}", json={"colour": "red"}, headers=once()),
        422,
        "colour",
    )
    is_problem(await api.patch(f"/v1/accounts/{account_id}", json={}, headers=once()), 422)
    is_problem(
        await api.patch("/v1/accounts/NOBODY-2", json={"days_past_due": 3}, headers=once()), 404
    )


async def test_a_payment_goes_through_the_ledger_then_ends_the_journey_paid(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    account_id = await started(api, rig)
    bad = await api.post(
        f"/v1/accounts/{account_id}/payments",
        json={"amount": "10.001", "currency": "USD", "payment_id": "PAY-odd"},
        headers=once(),
    )
    assert is_problem(bad, 422, "amount")["payment_id"] == "PAY-odd"  # echoed
    wrong = await api.post(
        f"/v1/accounts/{account_id}/payments",
        json={"amount": "10.00", "currency": "EUR", "payment_id": "PAY-eur"},
        headers=once(),
    )
    assert is_problem(wrong, 422, "currency")["payment_id"] == "PAY-eur"
    paid = await api.post(
        f"/v1/accounts/{account_id}/payments",
        json={"amount": "300.00", "currency": "USD", "payment_id": "PAY-all"},
        headers=once(),
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["applied"] is True
    assert paid.json()["status"] == "succeeded"
    ledger = PaymentLedger(rig.store).for_account(account_id)
    assert [(p.payment_id, p.source) for p in ledger] == [("PAY-all", "api")]
    status = await rig.status_when(account_id, lambda s: s.outcome == "paid")
    assert status.balance == 0


async def test_money_for_an_account_without_a_journey_stays_in_the_ledger(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    account_id = f"NONE-{uuid.uuid4().hex[:6]}"
    kept = await api.post(
        f"/v1/accounts/{account_id}/payments",
        json={"amount": "20.00", "currency": "USD", "payment_id": "PAY-orphan"},
        headers=once(),
    )
    assert kept.status_code == 201, kept.text
    assert kept.json()["applied"] is False
    assert [p.payment_id for p in PaymentLedger(rig.store).for_account(account_id)] == [
        "PAY-orphan"
    ]


async def test_events_an_opt_out_is_in_the_consent_record_first(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    account_id = await started(api, rig)
    out = await api.post(
        f"/v1/accounts/{account_id}/events",
        json={"type": "opt_out", "channel": "sms"},
        headers=once(),
    )
    assert out.status_code == 202, out.text
    assert out.json()["consent_recorded"] is True
    assert out.json()["journey_running"] is True
    entries = rig.consent.entries(account_id)
    assert [(e.action, e.channel, e.source) for e in entries] == [("opt_out", "sms", "api")]
    await rig.status_when(account_id, lambda s: "sms" in s.suppressed_channels)

    # with no journey running the word is still kept, for the next journey
    nobody = f"GONE-{uuid.uuid4().hex[:6]}"
    ceased = await api.post(
        f"/v1/accounts/{nobody}/events", json={"type": "cease_communication"}, headers=once()
    )
    assert ceased.status_code == 202, ceased.text
    assert ceased.json() == {
        "account_id": nobody,
        "type": "cease_communication",
        "consent_recorded": True,
        "journey_running": False,
        "plan": None,
    }
    assert [e.action for e in rig.consent.entries(nobody)] == ["cease"]


async def test_events_are_checked_in_the_call(api: httpx.AsyncClient, rig: Rig) -> None:
    account_id = await started(api, rig)
    path = f"/v1/accounts/{account_id}/events"
    document = is_problem(
        await api.post(path, json={"type": "opt_outt", "channel": "sms"}, headers=once()),
        422,
        "type",
    )
    assert "opt_out" in document["detail"]  # the events there are
    # moving a journey to another definition is an operator's (journey migrate), not billing's
    moving = await api.post(path, json={"type": "migrate_to", "version": 2}, headers=once())
    refused, offered = is_problem(moving, 422, "type")["detail"].split("; events: ")
    assert refused == "type: unknown event 'migrate_to'"
    assert "migrate_to" not in offered
    is_problem(
        await api.post(path, json={"type": "opt_out", "channel": "fax"}, headers=once()),
        422,
        "channel",
    )
    money = await api.post(
        path,
        json={"type": "payment_received", "amount": "5.00", "payment_id": "P-5"},
        headers=once(),
    )
    assert "/payments" in is_problem(money, 422, "type")["detail"]
    assert money.json()["payment_id"] == "P-5"
    is_problem(await api.post(path, json={"type": "account_updated"}, headers=once()), 422)
    await rig.status_when(account_id, lambda s: s.plan_offered)  # the offer has gone out
    plan = await api.post(path, json={"type": "accept_plan", "installments": 5}, headers=once())
    assert "5" in is_problem(plan, 422, "installments")["detail"]  # not one of the offered
    taken = await api.post(path, json={"type": "accept_plan", "installments": 3}, headers=once())
    assert taken.status_code == 202, taken.text
    assert taken.json()["plan"]["installments"] == 3
    hardship = await api.post(path, json={"type": "hardship_reported"}, headers=once())
    assert hardship.status_code in (202, 409), hardship.text  # the plan may have ended it
    is_problem(
        await api.post("/v1/accounts/NOBODY-3/events", json={"type": "pause"}, headers=once()), 404
    )


async def test_rate_limits_per_key_and_the_body_limit(rig: Rig) -> None:
    fresh = keys.create(ApiKeys(rig.store), f"burst-{uuid.uuid4().hex[:6]}", per_minute=50).key
    async with httpx.AsyncClient(
        base_url=rig.web, headers={"Authorization": f"Bearer {fresh}"}
    ) as api:
        answers = await asyncio.gather(*(api.get("/v1/accounts/NOBODY-4") for _ in range(60)))
        limited = [r for r in answers if r.status_code == 429]
        if not limited:  # the minute turned over during the burst: once more
            answers = await asyncio.gather(*(api.get("/v1/accounts/NOBODY-4") for _ in range(60)))
            limited = [r for r in answers if r.status_code == 429]
        assert limited
        document = is_problem(limited[0], 429)
        assert "50 requests" in document["detail"]
        assert 1 <= int(limited[0].headers["Retry-After"]) <= 60
        big = await api.post("/v1/journeys", content=b"x" * (64 * 1024 + 1), headers=once())
        assert is_problem(big, 413)["title"] == "Content Too Large"  # RFC 9110's name


def test_openapi_and_schemas_agree() -> None:
    """/openapi.json is built from the models schemas/ is written from: same fields, same
    rules (and a test of schemas/ keeps those files current)."""
    from rapport.intake.openapi import document

    spec = document()["components"]["schemas"]

    def schema_file(name: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((FOLDER / f"{name}.schema.json").read_text())
        return loaded

    for component, file in (
        ("JourneyStart", "journey-input"),
        ("AccountUpdated", "account_updated"),
        ("JourneyStatus", "journey-status"),
        ("Account", "account"),
    ):
        in_file = schema_file(file)
        mine = spec[component]
        assert mine["properties"].keys() == in_file["properties"].keys(), component
        assert sorted(mine.get("required", [])) == sorted(in_file.get("required", [])), component
        for name, prop in in_file["properties"].items():
            if "pattern" in prop:
                assert mine["properties"][name]["pattern"] == prop["pattern"], (component, name)
    payment = schema_file("payment_received")["properties"]
    assert spec["PaymentRequest"]["properties"]["amount"]["pattern"] == payment["amount"]["pattern"]
    assert (
        spec["OptOutEvent"]["properties"]["channel"]
        == schema_file("opt_out")["properties"]["channel"]
    )


@pytest.mark.slow
async def test_schemathesis_finds_no_5xx_and_every_answer_fits_the_description(
    rig: Rig, key: str, tmp_path: Any
) -> None:
    """Schemathesis reads /openapi.json from the running app and sends what it describes
    (bounded examples, a fixed seed): no 5xx, every answer's status, content type and body
    as documented. The description's examples name account A-1001, started here first:
    each operation's own answer (status, payment, event) is reached and checked too."""
    from rapport.intake.openapi import EXAMPLES

    async with httpx.AsyncClient(
        base_url=rig.web, headers={"Authorization": f"Bearer {key}"}, timeout=30
    ) as api:
        example = json.loads(json.dumps(EXAMPLES["JourneyStart"]))
        example["account"]["customer"]["timezone"] = rig.account("A-1001").customer.timezone
        started = await api.post(
            "/v1/journeys", json={**example, "journey": "portal"}, headers=once()
        )
        assert started.status_code in (200, 201), started.text
    # Two runs: GET and PATCH first, while A-1001's journey runs; then the POSTs, whose
    # generated events (closed_by_billing, a cease, a payment in full) may end it. In one
    # run their order follows the seed, and any change to a schema could put an ending
    # event before the PATCHes (404 for the rest of the run).
    for methods, checked in ((("GET", "PATCH"), True), (("POST",), False)):
        text = await _schemathesis(rig, key, tmp_path, methods)
        assert " 0 passed" not in text  # it sent something
        assert "Rate limited" not in text
        if checked:
            assert "Missing test data" not in text  # GET and PATCH reached a journey (A-1001)


async def _schemathesis(rig: Rig, key: str, tmp_path: Any, methods: tuple[str, ...]) -> str:
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "run",
        f"{rig.web}/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance,response_headers_conformance",
        "--mode",
        "positive",
        "--max-examples",
        "15",
        "--seed",
        "27",
        "--phases",
        "examples,coverage,fuzzing",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
        *[option for method in methods for option in ("--include-method", method)],
    ]
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": ""},
        cwd=tmp_path,  # its cache folder, not the checkout's
    )
    output, _ = await asyncio.wait_for(process.communicate(), 170)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    return text


def test_the_descriptions_examples_are_valid_requests() -> None:
    """What /openapi.json shows as each operation's example is accepted by its model."""
    from pydantic import TypeAdapter

    from rapport.contract.journey import JourneyStart
    from rapport.contract.payloads import AccountUpdated
    from rapport.intake.models import EventRequest, PaymentRequest
    from rapport.intake.openapi import EXAMPLES, document

    models = {
        "JourneyStart": JourneyStart,
        "AccountUpdated": AccountUpdated,
        "PaymentRequest": PaymentRequest,
        "Event": EventRequest,
    }
    for name, model in models.items():
        TypeAdapter(model).validate_python(EXAMPLES[name])
    shown = [
        operation["requestBody"]["content"]["application/json"]["example"]
        for path in document()["paths"].values()
        for operation in path.values()
        if "requestBody" in operation
    ]
    assert len(shown) == 4


# --- attack review ------------------------------------------------------------------


def _request_hash(method: str, path: str, body: Any) -> str:
    from types import SimpleNamespace

    from rapport.web.api import _parsed
    from rapport.web.api import _request_hash as digest

    request = SimpleNamespace(method=method, url=SimpleNamespace(path=path))
    raw = json.dumps(body).encode()
    return digest(request, raw, _parsed(raw))  # type: ignore[arg-type]


async def test_a_retry_after_the_web_process_died_mid_request_is_answered(
    api: httpx.AsyncClient, rig: Rig, key: str
) -> None:
    """Attack review of issue 27: a web process killed while it answered (a deploy, the
    OOM killer) left its Idempotency-Key claimed with no answer, and every retry was told
    409 "still running" for the key's 24 hours: the account could not be started under
    that key at all. A claim older than two minutes with no answer is taken over."""
    from datetime import UTC, datetime, timedelta

    from rapport.store.intake import IdempotencyKeys, scope_of

    key_id = key.split("_")[1]
    account_id = f"API-{uuid.uuid4().hex[:8]}"
    body = start_body(rig, account_id)
    digest = _request_hash("POST", "/v1/journeys", body)
    book = IdempotencyKeys(rig.store)
    then = datetime.now(UTC) - timedelta(minutes=3)  # what the dead process left
    abandoned, fresh = uuid.uuid4().hex, uuid.uuid4().hex
    assert book.claim(scope_of(key_id, abandoned), digest, then, then + timedelta(hours=24)) is None
    now = datetime.now(UTC)
    assert book.claim(scope_of(key_id, fresh), digest, now, now + timedelta(hours=24)) is None

    retry = await api.post("/v1/journeys", json=body, headers={"Idempotency-Key": abandoned})
    assert retry.status_code == 201, retry.text
    again = await api.post("/v1/journeys", json=body, headers={"Idempotency-Key": abandoned})
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == retry.json()
    # one that may still be running is not taken over; another body is still refused
    running = await api.post("/v1/journeys", json=body, headers={"Idempotency-Key": fresh})
    assert is_problem(running, 409)
    assert running.headers["Retry-After"] == "1"
    other = start_body(rig, f"{account_id}-2")
    is_problem(
        await api.post("/v1/journeys", json=other, headers={"Idempotency-Key": abandoned}), 422
    )


async def test_the_bearer_scheme_is_read_in_any_case(rig: Rig, key: str) -> None:
    """Attack review of issue 27: `authorization: bearer KEY` (as some HTTP clients and
    proxies write it; the scheme is case-insensitive, RFC 9110 11.1) got 401."""
    async with httpx.AsyncClient(base_url=rig.web) as http:
        for scheme in ("bearer", "BEARER", "Bearer "):
            answer = await http.get(
                "/v1/accounts/NOBODY-5", headers={"Authorization": f"{scheme} {key}"}
            )
            is_problem(answer, 404)  # past the key: no journey for that account


async def test_a_key_s_rate_limit_holds_across_web_processes(rig: Rig) -> None:
    """Two `journey web` processes (each its own app, store connection and limiter) on
    the one store: a key of 20 a minute gets 20 between them, not 20 from each."""
    from rapport.runtime.servers import free_port
    from rapport.web.app import serve_web

    fresh = keys.create(ApiKeys(rig.store), f"two-{uuid.uuid4().hex[:6]}", per_minute=20).key
    other = await serve_web(rig.settings, port=free_port(), client=rig.client)
    try:
        for _ in range(2):  # twice at most: the minute may turn over during the first
            answers: list[httpx.Response] = []
            for base in (rig.web, other.address):
                async with httpx.AsyncClient(
                    base_url=base, headers={"Authorization": f"Bearer {fresh}"}
                ) as api:
                    answers += [await api.get("/v1/accounts/NOBODY-6") for _ in range(15)]
            if any(r.status_code == 429 for r in answers):
                break
        served = [r for r in answers if r.status_code == 404]
        assert len(served) <= 20
        assert answers[-1].status_code == 429  # the second process knew of the first's 15
    finally:
        await other.stop()


async def test_an_opt_out_for_an_account_whose_journey_ended_is_kept_and_says_so(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    """Attack review of issue 27: the opt-out was written to the consent record, then
    answered 409 "the journey has ended": billing read a failure (and a retry under a new
    key wrote the opt-out twice). It is answered as for an account with no journey."""
    from rapport.contract.names import workflow_id

    account_id = await started(api, rig)
    await rig.client.get_workflow_handle(workflow_id(account_id)).terminate("operator")
    out = await api.post(
        f"/v1/accounts/{account_id}/events",
        json={"type": "opt_out", "channel": "sms"},
        headers=once(),
    )
    assert out.status_code == 202, out.text
    assert out.json()["consent_recorded"] is True
    assert out.json()["journey_running"] is False
    assert [e.action for e in rig.consent.entries(account_id)] == ["opt_out"]
    ended = await api.post(
        f"/v1/accounts/{account_id}/events", json={"type": "pause"}, headers=once()
    )
    assert "has ended" in is_problem(ended, 409)["detail"]  # anything else: still 409


async def test_a_body_without_its_length_is_cut_off_at_the_limit_too(rig: Rig, key: str) -> None:
    """A chunked body (no Content-Length, as a streaming client sends) is refused once it
    passes 64 KiB, with the rest unread (the connection then closes): sent on a raw
    socket, 80 KiB of a body that would go on, the answer is 413."""
    host, port = rig.web.removeprefix("http://").rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /v1/journeys HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {key}\r\nIdempotency-Key: {uuid.uuid4().hex}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    writer.write(head.encode())
    for _ in range(5):
        writer.write(b"4000\r\n" + b"x" * 0x4000 + b"\r\n")  # 16 KiB chunks, no end
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line


@pytest.mark.slow  # one cold reading of the shipped journeys: about 2 s
async def test_a_burst_of_starts_reads_the_journeys_folder_once() -> None:
    """Profiling the API's starts (py-spy on `journey web` under bench.intake): every
    request of a burst read the journeys folder itself while none had been read yet,
    twenty loading and checking every journey at once in the thread pool the store's
    calls wait for. One reading now serves the burst; a stale one is served while the
    next is read."""
    from rapport.intake.service import Intake

    root = Path(__file__).resolve().parents[2] / "journeys"
    intake = Intake(lambda: None, None, root)  # type: ignore[arg-type,return-value]
    assert intake.library is not None
    readings = 0
    scan = intake.library.scan

    def counted() -> Any:
        nonlocal readings
        readings += 1
        return scan()

    intake.library.scan = counted  # type: ignore[method-assign]
    scans = await asyncio.gather(*(intake._journeys_now() for _ in range(20)))
    assert readings == 1
    assert all(s is scans[0] for s in scans)
    assert scans[0].journeys


async def test_answers_are_forgotten_after_their_24_hours(rig: Rig, key: str) -> None:
    """Attack review of issue 27: nothing ever called `forget_expired`. Every POST's answer
    stayed in the store for good (an expired one went only when its own key came again):
    a billing system's year of requests, never deleted, against the docs' 24 hours. A
    web process now forgets them as it claims keys, at most once a minute."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from rapport.runtime.servers import free_port
    from rapport.store.intake import IdempotencyKeys, idempotency_keys, scope_of
    from rapport.web.app import serve_web

    book = IdempotencyKeys(rig.store)
    old = datetime.now(UTC) - timedelta(hours=25)
    stale = scope_of(key.split("_")[1], uuid.uuid4().hex)
    assert book.claim(stale, "0" * 64, old, old + timedelta(hours=24)) is None
    book.answer(stale, 201, "{}", None)
    web = await serve_web(rig.settings, port=free_port(), client=rig.client)  # a fresh process
    try:
        async with httpx.AsyncClient(
            base_url=web.address, headers={"Authorization": f"Bearer {key}"}
        ) as api:
            account_id = f"API-{uuid.uuid4().hex[:8]}"
            answer = await api.post(
                "/v1/journeys", json=start_body(rig, account_id), headers=once()
            )
            assert answer.status_code == 201, answer.text
    finally:
        await web.stop()
    with rig.store.begin() as connection:
        left = connection.execute(
            select(idempotency_keys.c.scope).where(idempotency_keys.c.scope == stale)
        ).all()
    assert left == []


def nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = {"a": value}
    return value


async def test_what_a_journey_would_refuse_later_is_refused_in_the_call(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    """Attack review of issue 27: two requests the API answered as done, and the journey
    then refused (or, before the review's first fix, could not even read): attributes of
    20 KB in a PATCH (the account takes 16 KB: only the journey checked), and attributes
    nested 250 levels in a start (past what the worker's JSON parser reads)."""
    account_id = await started(api, rig)
    big = {"attributes": {"notes": "n" * 20_000}}
    updated = await api.patch(f"/v1/accounts/{account_id}", json=big, headers=once())
    assert "16384" in is_problem(updated, 422, "attributes")["detail"]
    deep = start_body(rig, f"API-{uuid.uuid4().hex[:8]}", attributes={"deep": nested(250)})
    refused = await api.post("/v1/journeys", json=deep, headers=once())
    assert "nested" in is_problem(refused, 422)["detail"]
    status = await api.get(f"/v1/accounts/{account_id}")
    assert status.json()["refused"] == []  # nothing reached the journey to be refused


async def test_text_no_encoder_takes_is_refused_in_the_call_not_a_500(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    """Attack review of issue 27 (second pass): a lone surrogate in the attributes,
    `"\\udfff"` as JavaScript's JSON.stringify writes one, was read by Python's json into
    text no UTF-8 encoder takes: the start and the PATCH answered 500 (a traceback in the
    log) instead of a problem naming the field."""
    account_id = await started(api, rig)
    body = json.dumps(start_body(rig, f"API-{uuid.uuid4().hex[:8]}", attributes={"x": "-"}))
    lone = body.replace('"x": "-"', '"x": {"deep": ["\\udfff"]}')
    assert "\\udfff" in lone
    refused = await api.post("/v1/journeys", content=lone.encode(), headers=once())
    assert "surrogate" in is_problem(refused, 422, "account.attributes")["detail"]
    patch = b'{"attributes": {"note": "\\ud800"}}'
    updated = await api.patch(f"/v1/accounts/{account_id}", content=patch, headers=once())
    assert "surrogate" in is_problem(updated, 422, "attributes")["detail"]
    paired = b'{"attributes": {"note": "\\ud83d\\ude00 \\u00e9"}}'  # a pair is a character
    fine = await api.patch(f"/v1/accounts/{account_id}", content=paired, headers=once())
    assert fine.status_code == 200, fine.text


@pytest.mark.slow
@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def test_an_opt_out_under_a_long_idempotency_key_is_recorded(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Attack review of issue 27 (second pass): the consent record's reference of an
    opt-out sent over the API is `api:<key id>:<Idempotency-Key>`, up to 272 characters
    for the 255 the docs allow, in a column of 160. On PostgreSQL every such opt-out
    answered 503 "not recorded, try again", and every retry the same: the customer's
    opt-out never reached the record or the journey. (SQLite kept the long reference.)"""
    store: dict[str, Any] = {"api_requests_per_key": 5000}
    if database == "postgresql":
        server = request.getfixturevalue("postgres")
        store["database_url"] = server.new_database(f"t{uuid.uuid4().hex[:12]}")
    async with portal_rig(tmp_path, **store) as rig:
        made = keys.create(ApiKeys(rig.store), "billing")
        headers = {"Authorization": f"Bearer {made.key}"}
        async with httpx.AsyncClient(base_url=rig.web, headers=headers, timeout=30) as api:
            account_id = await started(api, rig)
            long_key = {"Idempotency-Key": "k" * 255}
            body = {"type": "opt_out", "channel": "sms"}
            first = await api.post(f"/v1/accounts/{account_id}/events", json=body, headers=long_key)
            assert first.status_code == 202, first.text
            assert first.json()["consent_recorded"] is True
            again = await api.post(f"/v1/accounts/{account_id}/events", json=body, headers=long_key)
            assert again.headers["Idempotent-Replayed"] == "true"
            other = {"Idempotency-Key": "k" * 254 + "j"}  # another request: its own entry
            second = await api.post(f"/v1/accounts/{account_id}/events", json=body, headers=other)
            assert second.status_code == 202, second.text
        entries = rig.consent.entries(account_id)
        api_entries = [e for e in entries if e.source == "api"]
        assert len(api_entries) == 2
        assert all(len(e.reference or "") <= 160 for e in api_entries)
        assert rig.consent.refusal(account_id, "sms", None) is not None


async def test_a_refusal_has_the_shape_the_docs_show(api: httpx.AsyncClient, rig: Rig) -> None:
    """Attack review of issue 27 (second pass): docs/billing-integration.md shows a 422
    titled "Unprocessable Content" with the field in `errors`; the API answered "Unprocessable
    Entity" (Python 3.11's older name) and, for a refusal of one field found after the
    models' checks (too many decimal places, another currency, an account id in the
    path), no `errors` at all: a client reading `errors` saw nothing wrong."""
    account_id = await started(api, rig)
    paid = {"amount": "182.405", "currency": "USD", "payment_id": "PAY-77812"}
    answer = await api.post(f"/v1/accounts/{account_id}/payments", json=paid, headers=once())
    document = is_problem(answer, 422, "amount")
    assert document["title"] == "Unprocessable Content"
    assert document["payment_id"] == "PAY-77812"
    assert document["errors"] == [
        {"field": "amount", "detail": "182.405 has more decimal places than USD allows (2)"}
    ]
    assert document["detail"] == "amount: " + document["errors"][0]["detail"]
    euros = {**paid, "amount": "5.00", "currency": "EUR"}
    answer = await api.post(f"/v1/accounts/{account_id}/payments", json=euros, headers=once())
    assert is_problem(answer, 422, "currency")["payment_id"] == "PAY-77812"


async def test_a_revoked_key_is_refused_within_its_freshness(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web app trusts a key it read for `keys.FRESH` seconds (one second; here 0.2):
    a key revoked while a billing system uses it is refused by the running app once that
    has passed, without a restart."""
    from datetime import UTC, datetime

    from rapport.runtime.servers import free_port
    from rapport.web.app import serve_web

    monkeypatch.setattr(keys, "FRESH", 0.2)
    fresh = keys.create(ApiKeys(rig.store), f"soon-{uuid.uuid4().hex[:6]}")
    web = await serve_web(rig.settings, port=free_port(), client=rig.client)
    try:
        async with httpx.AsyncClient(
            base_url=web.address, headers={"Authorization": f"Bearer {fresh.key}"}
        ) as api:
            is_problem(await api.get("/v1/accounts/NOBODY-7"), 404)  # past the key
            assert ApiKeys(rig.store).revoke(fresh.name, datetime.now(UTC))
            await asyncio.sleep(0.3)
            is_problem(await api.get("/v1/accounts/NOBODY-7"), 401)
    finally:
        await web.stop()


async def test_concurrent_retries_under_one_key_start_once_and_agree(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    """Ten copies of one start sent at once under one Idempotency-Key (a billing system's
    retries racing): the journey starts once; every answer is that start's (201, the
    same run) or "still running" (409, Retry-After), never a second start or a 200."""
    account_id = f"API-{uuid.uuid4().hex[:8]}"
    body, headers = start_body(rig, account_id), once()
    answers = await asyncio.gather(
        *(api.post("/v1/journeys", json=body, headers=headers) for _ in range(10))
    )
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, [a.text for a in answers]
    started = [a for a in answers if a.status_code == 201]
    assert len({a.json()["run_id"] for a in started}) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in started) == 1
    for refused in (a for a in answers if a.status_code == 409):
        assert is_problem(refused, 409)["detail"].startswith("the first request")
    again = await api.post("/v1/journeys", json=body, headers=headers)
    assert again.status_code == 201
    assert again.json() == started[0].json()


async def test_journey_web_reads_the_journeys_folder_and_connects_as_it_starts(rig: Rig) -> None:
    """`journey web` warms the intake as it starts (the first burst of a deploy waited for
    a cold reading of the folder and the connection: the API's p99 was 0.4 s); without
    Temporal it still starts, and says so in one line."""
    from rapport.intake.service import Intake

    asked: list[str] = []

    async def connected() -> Any:
        asked.append("client")
        return None

    async def unreachable() -> Any:
        raise ConnectionError("no server")

    intake = Intake(connected, rig.consent, rig.settings.journeys_dir)
    await intake.warm()
    assert intake._scan is not None
    assert asked == ["client"]
    await Intake(unreachable, rig.consent, rig.settings.journeys_dir).warm()  # no raise


async def test_journey_web_moves_its_startup_objects_out_of_the_collector_s_way() -> None:
    """After the warm-up the app freezes what the process holds (`gc.freeze`): a full
    collection walked every module, journey and client object, about 80 ms in which every
    request in flight waited (measured under bench.intake; a p99 of the API)."""
    import gc

    from starlette.applications import Starlette

    from rapport.web.app import warming

    warmed: list[bool] = []

    class Warm:
        async def warm(self) -> None:
            warmed.append(True)

    before = gc.get_freeze_count()
    try:
        async with warming(Warm())(Starlette()):  # type: ignore[arg-type]
            for _ in range(100):
                if gc.get_freeze_count() > before:
                    break
                await asyncio.sleep(0.01)
        assert warmed == [True]
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


async def test_an_event_is_checked_as_patch_and_payments_check_the_same_content(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    """Review of issue 27 (third pass): `account_updated` with a balance of 10.001 on a
    USD account answered 202 as an event (and showed up later in `status.refused`) while
    PATCH refused the same body with 422: every check of PATCH and /payments holds for
    the same content sent as an event."""
    account_id = await started(api, rig)
    path = f"/v1/accounts/{account_id}/events"
    for field in ("balance", "minimum_due"):
        body = {field: "10.001"}
        patched = await api.patch(f"/v1/accounts/{account_id}", json=body, headers=once())
        is_problem(patched, 422, field)
        event = await api.post(path, json={"type": "account_updated", **body}, headers=once())
        assert is_problem(event, 422, field)["detail"] == patched.json()["detail"]
    money = {"type": "payment_received", "amount": "10.001", "payment_id": "P-odd"}
    is_problem(await api.post(path, json=money, headers=once()), 422, "type")
    fine = await api.post(
        path, json={"type": "account_updated", "balance": "10.01"}, headers=once()
    )
    assert fine.status_code == 202, fine.text
    status = await rig.status_when(account_id, lambda s: s.balance == Decimal("10.01"))
    assert status.refused == []
    nobody = {"type": "account_updated", "balance": "1.00"}
    is_problem(await api.post("/v1/accounts/NOBODY-5/events", json=nobody, headers=once()), 404)


async def test_event_problems_name_the_field_the_client_sent(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    """Review of issue 27 (third pass): `opt_out.channel` (the tag pydantic puts first)
    instead of `channel`, a missing `type` reported as `(body)`."""
    account_id = await started(api, rig)
    path = f"/v1/accounts/{account_id}/events"
    out = await api.post(path, json={"type": "opt_out", "channel": "fax"}, headers=once())
    assert [e["field"] for e in is_problem(out, 422, "channel")["errors"]] == ["channel"]
    is_problem(await api.post(path, json={"channel": "sms"}, headers=once()), 422, "type")
    is_problem(await api.post(path, json={"type": 5}, headers=once()), 422, "type")
    many = {"type": "accept_plan", "installments": 0}
    is_problem(await api.post(path, json=many, headers=once()), 422, "installments")
    early = await api.post(path, json={"type": "accept_plan", "installments": 2}, headers=once())
    is_problem(early, 422, "installments")  # the journey's refusal: no offer yet


async def test_a_journey_that_does_not_answer_is_503_not_404(
    api: httpx.AsyncClient, rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review of issue 27 (third pass): a journey Temporal cannot reach answered GET
    /v1/accounts/{id} with 404 "cannot reach the journey": 404 is for an account without
    a journey; a journey (or Temporal) that does not answer in time is 503 with
    Retry-After. Here the account's workflow waits on a task queue no worker polls."""
    monkeypatch.setattr(service, "WITHIN", 1.0)
    account_id = f"WEDGED-{uuid.uuid4().hex[:6]}"
    await rig.client.start_workflow(
        WORKFLOW_TYPE,
        id=workflow_id(account_id),
        task_queue=f"nobody-polls-{uuid.uuid4().hex[:6]}",
    )
    status = await api.get(f"/v1/accounts/{account_id}")
    assert "journey" in is_problem(status, 503)["detail"]
    assert int(status.headers["Retry-After"]) >= 1
    update = await api.patch(f"/v1/accounts/{account_id}", json={"balance": "1.00"}, headers=once())
    assert update.status_code in (202, 200, 503), update.text  # a signal needs no worker
    is_problem(await api.get("/v1/accounts/NOBODY-6"), 404)


@pytest.mark.slow  # a dev server of its own, stopped under the app: about 7 s
async def test_when_temporal_is_gone_the_api_answers_503_not_404(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review of issue 27 (third pass): with Temporal gone, GET /v1/accounts/{id} answered
    404 "cannot reach the journey" (every error of the client was the call's refusal)."""
    settings = Settings(
        data_dir=tmp_path, journeys_dir=tmp_path, task_queue=f"gone-{uuid.uuid4().hex[:6]}"
    )
    store = migrated_sqlite(tmp_path / "rapport.db")
    made = keys.create(ApiKeys(store), "billing").key
    server = await start_local(converter=data_converter(settings))
    web = await serve_web(settings, port=free_port(), client=server.client)
    try:
        headers = {"Authorization": f"Bearer {made}"}
        async with httpx.AsyncClient(base_url=web.address, headers=headers, timeout=30) as api:
            assert (await api.get("/v1/accounts/NOBODY-7")).status_code == 404
            await server.shutdown()
            gone = await api.get("/v1/accounts/NOBODY-7")  # the client retries: about 5 s
            assert "cannot reach" in is_problem(gone, 503)["detail"]
            assert int(gone.headers["Retry-After"]) >= 1
    finally:
        await web.stop()
        store.dispose()


async def test_paid_at_reaches_the_journey_within_sane_bounds(
    api: httpx.AsyncClient, rig: Rig
) -> None:
    """Review of issue 27 (third pass): `paid_at` on a payment was taken (even in the year
    9999) and never passed on. The journey's `payment_received` has `paid_at` (it dates a
    plan's installment by it): passed on; not in the future past clock skew, not before
    2000."""
    account_id = await started(api, rig)
    path = f"/v1/accounts/{account_id}/payments"
    for when in ("9999-12-31T00:00:00Z", "1999-12-31T23:59:59Z", "2026-01-01T00:00:00"):
        body = {"amount": "1.00", "currency": "USD", "payment_id": "P-when", "paid_at": when}
        document = is_problem(await api.post(path, json=body, headers=once()), 422, "paid_at")
        assert document["payment_id"] == "P-when"
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = {"amount": "1.00", "currency": "USD", "payment_id": "P-when", "paid_at": future}
    is_problem(await api.post(path, json=body, headers=once()), 422, "paid_at")
    assert PaymentLedger(rig.store).for_account(account_id) == []
    paid_at = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
    body = {**body, "paid_at": paid_at.isoformat()}
    answer = await api.post(path, json=body, headers=once())
    assert answer.status_code == 201, answer.text
    handle = rig.client.get_workflow_handle(workflow_id(account_id))
    told = []
    async for event in handle.fetch_history_events():
        signaled = event.workflow_execution_signaled_event_attributes
        if signaled.signal_name == "payment_received":
            [payload] = await rig.client.data_converter.decode(signaled.input.payloads)
            told.append(payload)
    assert [PaymentReceived.model_validate(p).paid_at for p in told] == [paid_at]


async def test_a_compressed_body_is_415_not_400_not_json(api: httpx.AsyncClient, rig: Rig) -> None:
    """Review of issue 27 (third pass): a gzip body (Content-Encoding: gzip) answered 400
    "not JSON". The API takes bodies as they are (the docs promise no compression):
    415, saying so, and the same for any other encoding."""
    body = json.dumps(start_body(rig, f"API-{uuid.uuid4().hex[:8]}")).encode()
    for encoding, content in (("gzip", gzip.compress(body)), ("br", body), ("GZIP, deflate", body)):
        headers = {**once(), "Content-Encoding": encoding, "Content-Type": "application/json"}
        answer = await api.post("/v1/journeys", content=content, headers=headers)
        document = is_problem(answer, 415, "Content-Encoding")
        assert "must not be compressed" in document["detail"]
    plain = {**once(), "Content-Encoding": "identity", "Content-Type": "application/json"}
    assert (await api.post("/v1/journeys", content=body, headers=plain)).status_code == 201
    paths = document_paths()
    assert all("415" in paths[p]["post"]["responses"] for p in paths if "post" in paths[p])


def document_paths() -> dict[str, Any]:
    from rapport.intake.openapi import document

    paths: dict[str, Any] = document()["paths"]
    return paths


async def test_failed_authentications_are_limited_per_address_without_the_store(
    rig: Rig, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review of issue 27 (third pass): requests with no key or a wrong one were not
    limited, and each cost a store read. Past the address's allowance of failures a
    minute the app answers 429 with Retry-After from memory (no store read, so no
    store write either) until the minute ends, to a key the process never served too;
    a key it has served passes (a billing system an attacker shares an address with)."""
    settings = rig.settings.model_copy(update={"api_failed_auth_per_address": 5})
    web = await serve_web(settings, port=free_port(), client=rig.client)
    reads = 0
    verify = keys.KeyCheck.verify

    def counted(self: keys.KeyCheck, authorization: str | None) -> Any:
        nonlocal reads
        reads += 1
        return verify(self, authorization)

    monkeypatch.setattr(keys.KeyCheck, "verify", counted)
    try:
        async with httpx.AsyncClient(base_url=web.address) as http:
            good = {"Authorization": f"Bearer {key}"}
            assert (await http.get("/v1/accounts/A-1", headers=good)).status_code == 404
            unseen = keys.create(ApiKeys(rig.store), f"unseen-{uuid.uuid4().hex[:6]}").key
            bad = {"Authorization": f"Bearer {key[:-1]}x"}
            tries = [await http.get("/v1/accounts/A-1", headers=bad) for _ in range(5)]
            assert [r.status_code for r in tries] == [401] * 5
            assert reads == 6
            for headers in (bad, {}, {"Authorization": f"Bearer {unseen}"}):
                limited = await http.get("/v1/accounts/A-1", headers=headers)
                assert "without a valid API key" in is_problem(limited, 429)["detail"]
                assert 1 <= int(limited.headers["Retry-After"]) <= 60
            posted = await http.post("/v1/journeys", json={}, headers={**bad, **once()})
            is_problem(posted, 429)
            assert reads == 6  # answered from memory
            assert (await http.get("/v1/accounts/A-1", headers=good)).status_code == 404
        async with httpx.AsyncClient(base_url=rig.web) as http:  # another process: its own
            assert (await http.get("/v1/accounts/A-1", headers=bad)).status_code == 401
    finally:
        await web.stop()


def test_the_failure_table_forgets_after_a_minute_and_stays_bounded() -> None:
    now = [0.0]
    table = Strikes(3, clock=lambda: now[0])
    for _ in range(3):
        assert table.waiting("10.0.0.1") is None
        table.failed("10.0.0.1")
    assert table.waiting("10.0.0.1") == 60
    assert table.waiting("10.0.0.2") is None
    now[0] = 45.5
    assert table.waiting("10.0.0.1") == 15
    now[0] = 60.0
    assert table.waiting("10.0.0.1") is None
    for _ in range(3):  # one IPv6 subscriber's /64 is one address
        table.failed(f"2001:db8::{_ + 1}")
    assert table.waiting("2001:db8::ffff") == 60
    assert table.waiting("2001:db8:0:1::1") is None
    for n in range(strikes.ADDRESSES + 10):
        table.failed(f"10.1.{n // 256}.{n % 256}")
    assert len(table._table) == strikes.ADDRESSES
