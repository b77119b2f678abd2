"""The simulation's timeline: JSON exactly as docs/simulating.md says, or a readable table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rapport.contract.records import PlanView
from rapport.language.durations import describe_duration
from rapport.language.models import JourneyDefinition, OfferPlanStep
from rapport.policy.window import local
from rapport.simulation.runner import SimulationRun


def timeline(run: SimulationRun) -> dict[str, Any]:
    zone = run.scenario.account.customer.timezone
    definition = run.scenario.journey.definition

    def at(moment: datetime) -> str:
        # The test server's clock runs on while activities execute: show whole seconds.
        return local(moment, zone).isoformat(timespec="seconds")

    start_day = local(run.start, zone).date()

    def day(moment: datetime) -> int:
        """The customer's calendar day, counted from the start's (day 0): Monday is day 3
        of a Friday start, whatever the hour and across a daylight-saving change, so an
        `expect:` holds every week of the year."""
        return (local(moment, zone).date() - start_day).days

    messages = []
    for sent in run.status.messages:
        item = run.capture.items.get(sent.key)
        messages.append(
            {
                "step": sent.step,
                "channel": sent.channel,
                "template": sent.template,
                "at": at(sent.at),
                "day": day(sent.at),
                "subject": item.subject if item else None,
                "body": item.body if item else None,
            }
        )
    return {
        "journey": {"id": definition.id, "version": definition.version},
        "account_id": run.scenario.account.account_id,
        "segment": run.status.segment,
        "start": at(run.start),
        "outcome": run.status.outcome if run.finished else "running",
        "messages": messages,
        "skipped": [
            {
                "step": s.step,
                "channel": s.channel,
                "at": at(s.at),
                "day": day(s.at),
                "reason": s.reason,
                **({"detail": _detail(definition, s.step, s.detail)} if s.detail else {}),
                **({"pack": s.pack, "rule": s.rule} if s.pack else {}),
            }
            for s in run.status.skipped
        ],
        "deferred": [
            {
                "step": d.step,
                "channel": d.channel,
                "at": at(d.at),
                "day": day(d.at),
                "until": at(d.until),
                "pack": d.pack,
                "rule": d.rule,
                **({"zone": d.zone} if d.zone else {}),
                **({"detail": d.detail} if d.detail else {}),
            }
            for d in run.status.deferred
        ],
        "rule_packs": run.status.rule_packs,
        "zones": run.status.zones,
        "events": [{**e, "at": at(e["at"]), "day": day(e["at"])} for e in run.events],
        "handoffs": [
            {"step": h.step, "queue": h.queue, "at": at(h.at), "day": day(h.at)}
            for h in run.status.handoffs
        ],
        "waits": [
            {
                "step": w.step,
                "began": at(w.began),
                "at": at(w.ended),
                "day": day(w.ended),
                "ended_by": w.ended_by,
            }
            for w in run.status.waits
        ],
        "balance": str(run.status.balance),
        "errors": run.status.errors,
        "possible_duplicates": run.status.possible_duplicates,
        "refused": [
            {"event": r.event, "at": at(r.at), "error": r.error} for r in run.status.refused
        ],
        "plans": [_plan(p) for p in [*run.status.earlier_plans, run.status.plan] if p],
        "history_events": len(run.history.events),
    }


def _plan(plan: PlanView) -> dict[str, Any]:
    """A plan in the timeline: each installment due and paid (customer-local dates)."""
    return {
        "number": plan.number,
        "state": plan.state,
        "every": plan.every,
        "total": str(plan.total),
        "left": str(plan.left),
        "installments": [
            {
                "number": i.number,
                "due": i.due.isoformat(),
                "amount": str(i.amount),
                "paid": str(i.paid),
                "state": i.state,
                "paid_on": i.paid_on.isoformat() if i.paid_on else None,
                **({"moved_from": i.moved_from.isoformat()} if i.moved_from else {}),
            }
            for i in plan.installments
        ],
        **({"carried": str(plan.carried)} if plan.carried else {}),
    }


def table(data: dict[str, Any]) -> str:
    """One line per message, skip, event and handoff, in time order."""
    rows: list[tuple[str, int, str, str, str, str]] = []
    for m in data["messages"]:
        first = m["subject"] or (m["body"] or "").split("\n")[0]
        rows.append((m["at"], m["day"], m["channel"], m["template"], first, "2-sent"))
    for s in data["skipped"]:
        rows.append(
            (
                s["at"],
                s["day"],
                s["channel"] or "-",
                s["step"],
                f"skipped: {s['reason']} {s.get('detail', '')}".strip()
                + (f" [{s['pack']} {s['rule']}]" if s.get("pack") else ""),
                "1-skip",
            )
        )
    for d in data.get("deferred", []):
        until = datetime.fromisoformat(d["until"]).strftime("%a %H:%M")
        where = f" in {d['zone']}" if d.get("zone") else ""
        rows.append(
            (
                d["at"],
                d["day"],
                d["channel"],
                d["step"],
                f"held until {until}: {d['pack']} {d['rule']}{where} {d.get('detail', '')}".strip(),
                "1-held",
            )
        )
    for e in data["events"]:
        fields = ", ".join(
            f"{k}={v}" for k, v in e.items() if k not in ("at", "day", "type", "accepted", "error")
        )
        verdict = "" if e["accepted"] else f"  REJECTED: {e.get('error', '')}"
        rows.append((e["at"], e["day"], "event", e["type"], fields + verdict, "0-event"))
    for h in data["handoffs"]:
        rows.append(
            (h["at"], h["day"], "handoff", h["step"], f"task on queue {h['queue']}", "2-handoff")
        )
    for w in data.get("waits", []):
        said = _WAIT_ENDS.get(w["ended_by"], w["ended_by"])
        rows.append((w["at"], w["day"], "wait", w["step"], f"wait_until ended: {said}", "1-wait"))
    rows.sort(key=lambda r: (r[0], r[5]))  # an event comes before what it caused
    journey = data["journey"]
    lines = [
        f"journey {journey['id']} v{journey['version']}, account {data['account_id']}, "
        f"segment {data['segment']}, start {data['start']}",
        *_place_line(data),
        "",
        f"{'day':>4}  {'customer-local time':<22} {'channel':<8} {'template':<20} first line",
    ]
    for moment, day, channel, template, first, _ in rows:
        stamp = datetime.fromisoformat(moment).strftime("%a %Y-%m-%d %H:%M")
        lines.append(f"{day:>4}  {stamp:<22} {channel:<8} {template:<20} {_clip(first)}")
    for plan in data.get("plans", []):
        lines += ["", f"plan {plan['number']} ({plan['every']}): {plan['state']}"]
        for i in plan["installments"]:
            paid = f"paid {i['paid']}" + (f" on {i['paid_on']}" if i["paid_on"] else "")
            moved = f" (moved from {i['moved_from']})" if "moved_from" in i else ""
            due = f"due {i['due']}{moved}"
            lines.append(f"  {i['number']:>3}. {due}  {i['amount']:>10}  {paid}  {i['state']}")
    lines += [
        "",
        f"outcome: {data['outcome']}, {len(data['messages'])} messages, balance {data['balance']}",
    ]
    return "\n".join(lines)


_WAIT_ENDS = {
    "paid": "a payment arrived",
    "replied": "the customer replied",
    "plan_accepted": "a plan was accepted",
    "timeout": "its timeout passed",
    "stopped": "the journey ended",
}


def _place_line(data: dict[str, Any]) -> list[str]:
    """The packs the customer is under and every zone they may be in (when known)."""
    if not data.get("zones"):
        return []
    packs = ", ".join(data["rule_packs"]) or "none"
    return [f"rule packs {packs}; time zones {', '.join(data['zones'])}"]


def _clip(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _detail(definition: JourneyDefinition, step_id: str, detail: str) -> str:
    """A skipped offer skips its wait for an answer too: say so, and what it does to the
    journey's pace (the issue a designer otherwise finds as a final notice a week early)."""
    index = definition.step_index().get(step_id)
    step = definition.steps[index] if index is not None else None
    if isinstance(step, OfferPlanStep) and detail.startswith("no plan"):
        wait = describe_duration(step.offer_plan.respond_within)
        return (
            f"{detail} for this balance; the offer's {wait} wait for an answer is skipped "
            f"with it, so the next step comes {wait} sooner"
        )
    return detail
