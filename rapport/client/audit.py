"""`journey audit`: every contact the account's journeys made, held back or skipped, each
with the pack and rule that decided it, for examiners and complaints.

Two sources, joined on the delivery's idempotency key:
- the journeys (Temporal): every run of the account's workflow id (visibility; a server
  without it, like the time-skipping test server, gives the latest run and the runs it
  continued from), each read from its result once it completed, or by the `status` query
  otherwise (which a worker answers, for a closed run too). Each journey keeps its most
  recent records (`RECENT` of each kind), with the packs a message went under and the
  rule that held or skipped one;
- the store's delivery log: every message a provider took, for as long as the store
  keeps it, whether or not the journey that sent it can still be read.
A run whose records cannot be read is listed with the reason, never dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from rapport.compliance.table import RuleBook
from rapport.contract import search_attributes as sa
from rapport.contract.journey import JourneyResult, JourneyStatus
from rapport.contract.names import STATUS_QUERY, workflow_id
from rapport.contract.records import Deferral, SentMessage, SkippedStep
from rapport.store.deliveries import DeliveryLog, LoggedDelivery

CONSENT_REASONS = {"opted_out", "ceased", "no_consent"}  # the consent record decided


@dataclass(frozen=True)
class Run:
    """One run of the account's workflow, and what it is known as."""

    run_id: str
    status: str  # running, completed, continued_as_new, terminated, failed, ...
    journey: str  # `early-stage v3`, or "" while unknown
    started: datetime | None


@dataclass(frozen=True)
class Contact:
    """One line of the audit: a message sent, held back or skipped."""

    kind: str  # sent, deferred, skipped
    at: datetime
    channel: str
    step: str
    journey: str
    decided_by: str  # `us-ma/phone-cap`, `journey/min_gap`, `consent`, `journey`
    citation: str = ""
    note: str = ""  # the rule's plain-language note
    reason: str = ""  # a skip's reason; a deferral: `until ...`
    until: datetime | None = None
    zone: str = ""
    detail: str = ""
    packs: tuple[str, ...] = ()  # a sent message: the packs it went under
    key: str = ""
    run_id: str = ""
    source: str = "journey"  # journey, store (the delivery log only)

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "at": self.at.isoformat(),
            "channel": self.channel,
            "step": self.step,
            "journey": self.journey,
            "decided_by": self.decided_by,
            "citation": self.citation,
            "note": self.note,
            "reason": self.reason,
            "until": self.until.isoformat() if self.until else None,
            "zone": self.zone,
            "detail": self.detail,
            "packs": list(self.packs),
            "key": self.key,
            "run_id": self.run_id,
            "source": self.source,
        }


@dataclass
class Audit:
    account_id: str
    runs: list[Run] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # runs (or the store) not read, why

    def as_json(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "journeys": [
                {
                    "workflow_id": workflow_id(self.account_id),
                    "run_id": r.run_id,
                    "status": r.status,
                    "journey": r.journey,
                    "started": r.started.isoformat() if r.started else None,
                }
                for r in self.runs
            ],
            "contacts": [c.as_json() for c in self.contacts],
            "unreadable": self.unreadable,
        }

    def lines(self) -> list[str]:
        counts = {k: sum(1 for c in self.contacts if c.kind == k) for k in KINDS}
        head = (
            f"audit of account {self.account_id}: {counts['sent']} sent, "
            f"{counts['deferred']} held back, {counts['skipped']} skipped; "
            f"{len(self.runs)} journey run{'s' if len(self.runs) != 1 else ''}"
        )
        lines = [head]
        lines += [
            f"  run {r.run_id}  {r.journey or '?'}  {r.status}"
            + (f"  started {r.started:%Y-%m-%d %H:%M} UTC" if r.started else "")
            for r in self.runs
        ]
        lines += [f"  not read: {why}" for why in self.unreadable]
        lines += [_line(c) for c in self.contacts]
        return lines


KINDS = ("sent", "deferred", "skipped")


def _line(c: Contact) -> str:
    when = f"{c.at:%Y-%m-%d %H:%M} UTC"
    what = f"{when}  {c.kind:<8} {c.channel or '-':<6} {c.step}  ({c.journey or '?'})"
    if c.kind == "sent":
        packs = ", ".join(c.packs) if c.packs else "no rule packs recorded"
        how = f"under {packs}" if c.source == "journey" else "from the store's delivery log"
        return f"{what}  {how}"
    why = c.reason
    if c.until is not None:
        why = f"held until {c.until:%Y-%m-%d %H:%M} UTC"
    by = c.decided_by + (f" ({c.citation})" if c.citation else "")
    where = f" in {c.zone}" if c.zone else ""
    detail = f": {c.detail}" if c.detail else ""
    return f"{what}  {why} by {by}{where}{detail}"


async def audit(
    client: Client, account_id: str, deliveries: DeliveryLog | None, book: RuleBook
) -> Audit:
    """Everything the account's journeys and the store say, in time order."""
    found = Audit(account_id)
    found.runs = await account_runs(client, account_id)
    by_key: dict[str, Contact] = {}
    seen: set[tuple[Any, ...]] = set()
    for run in found.runs:
        records = await _records(client, account_id, run, found.unreadable)
        if records is None:
            continue
        sent, deferred, skipped = records
        for m in sent:
            by_key.setdefault(m.key, _sent(m, run))
        for d in deferred:
            if _once(seen, ("d", run.journey, d.step, d.channel, d.at, d.until, d.rule)):
                found.contacts.append(_deferral(d, run, book))
        for s in skipped:
            if _once(seen, ("s", run.journey, s.step, s.channel, s.at, s.reason)):
                found.contacts.append(_skip(s, run, book))
    if deliveries is not None:
        try:
            logged = deliveries.for_account(account_id)
        except Exception as exc:  # the store: named in the audit, not a traceback
            found.unreadable.append(f"the store's delivery log: {str(exc)[:200]}")
            logged = []
        for row in logged:
            by_key.setdefault(row.key, _from_store(row))
    found.contacts += by_key.values()
    found.contacts.sort(key=lambda c: (c.at, KINDS.index(c.kind), c.step))
    return found


def _once(seen: set[tuple[Any, ...]], identity: tuple[Any, ...]) -> bool:
    """A record carried into the next run (continue-as-new) is counted once."""
    if identity in seen:
        return False
    seen.add(identity)
    return True


async def account_runs(client: Client, account_id: str) -> list[Run]:
    """Every run of the account's workflow id, oldest first."""
    wid = workflow_id(account_id)
    runs: list[Run] = []
    try:
        async for execution in client.list_workflows(f"WorkflowId = '{_quoted(wid)}'"):
            status = execution.status.name.lower() if execution.status else "?"
            attributes = execution.typed_search_attributes
            runs.append(Run(execution.run_id, status, _journey(attributes), execution.start_time))
    except RPCError as exc:
        if exc.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        return await _chain(client, wid)
    return sorted(runs, key=lambda r: (r.started is None, r.started))


async def _chain(client: Client, wid: str) -> list[Run]:
    """Without visibility: the latest run and those it continued from."""
    runs: list[Run] = []
    run_id: str | None = None
    while True:
        handle = client.get_workflow_handle(wid, run_id=run_id)
        try:
            description = await handle.describe()
        except RPCError as exc:
            if exc.status == RPCStatusCode.NOT_FOUND and not runs:
                return []
            raise
        status = description.status.name.lower() if description.status else "?"
        runs.append(
            Run(
                description.run_id,
                status,
                _journey(description.typed_search_attributes),
                description.start_time,
            )
        )
        first = await anext(aiter(handle.fetch_history_events()))
        previous = first.workflow_execution_started_event_attributes.continued_execution_run_id
        if not previous or len(runs) >= 100:
            return list(reversed(runs))
        run_id = previous


async def _records(
    client: Client, account_id: str, run: Run, unreadable: list[str]
) -> tuple[list[SentMessage], list[Deferral], list[SkippedStep]] | None:
    handle: WorkflowHandle[Any, JourneyResult] = client.get_workflow_handle(
        workflow_id(account_id), run_id=run.run_id, result_type=JourneyResult
    )
    try:
        if run.status == WorkflowExecutionStatus.COMPLETED.name.lower():
            result = await handle.result(follow_runs=False)
            return result.messages, result.deferred, result.skipped
        status: JourneyStatus = await handle.query(STATUS_QUERY, result_type=JourneyStatus)
        return status.messages, status.deferred, status.skipped
    except Exception as exc:  # a run no worker can read now: said, not dropped
        unreadable.append(f"run {run.run_id} ({run.status}): {_one_line(exc)}")
        return None


def _one_line(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    return (str(getattr(cause, "message", "") or cause) or type(cause).__name__)[:200]


def _journey(attributes: Any) -> str:
    journey, version = attributes.get(sa.JOURNEY_ID), attributes.get(sa.JOURNEY_VERSION)
    return f"{journey} v{version}" if journey else ""


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _cited(book: RuleBook, pack: str, rule: str) -> tuple[str, str]:
    """A pack rule's citation and note, as the packs say today ("" when gone)."""
    for p, r in book.rules():
        if (p.pack, r.id) == (pack, rule):
            return r.citation, r.note
    return "", ""


def _sent(m: SentMessage, run: Run) -> Contact:
    return Contact(
        kind="sent",
        at=m.at,
        channel=m.channel,
        step=m.step,
        journey=run.journey,
        decided_by="allowed",
        reason=m.template,
        packs=tuple(m.packs),
        key=m.key,
        run_id=run.run_id,
    )


def _deferral(d: Deferral, run: Run, book: RuleBook) -> Contact:
    citation, note = _cited(book, d.pack, d.rule)
    return Contact(
        kind="deferred",
        at=d.at,
        channel=d.channel,
        step=d.step,
        journey=run.journey,
        decided_by=f"{d.pack}/{d.rule}",
        citation=citation,
        note=note,
        reason="held",
        until=d.until,
        zone=d.zone,
        detail=d.detail,
        run_id=run.run_id,
    )


def _skip(s: SkippedStep, run: Run, book: RuleBook) -> Contact:
    if s.pack:
        by = f"{s.pack}/{s.rule}"
        citation, note = _cited(book, s.pack, s.rule)
    else:
        by = "consent" if s.reason in CONSENT_REASONS else "journey"
        citation, note = "", ""
    return Contact(
        kind="skipped",
        at=s.at,
        channel=s.channel or "",
        step=s.step,
        journey=run.journey,
        decided_by=by,
        citation=citation,
        note=note,
        reason=s.reason,
        detail=s.detail,
        run_id=run.run_id,
    )


def _from_store(row: LoggedDelivery) -> Contact:
    """A delivery only the store remembers: its key names the journey and the step
    (`delinquency-ACCOUNT/JOURNEY/vN/STARTED/STEP/OCCURRENCE/CHANNEL`)."""
    parts = row.key.split("/")
    journey = f"{parts[1]} {parts[2]}" if len(parts) >= 7 else ""
    step = parts[4] if len(parts) >= 7 else row.key
    return Contact(
        kind="sent",
        at=row.at,
        channel=row.channel,
        step=step,
        journey=journey,
        decided_by="allowed",
        key=row.key,
        source="store",
    )
