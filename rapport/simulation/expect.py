"""A scenario's `expect:`: what the designer says must happen, checked against the timeline.

```yaml
expect:
  outcome: paid                      # how the journey ends (or `running`)
  messages: {email: 2, sms: 0}       # messages sent per channel (`all`: in total)
  sent:                              # a message by step and day (channel, template: optional)
    - {step: reminder, day: 0, channel: email, template: reminder_loyal}
  not_sent:                          # no message from a step (on a day, if given)
    - {step: call}
  waits:                             # how a wait_until ended (on a day, if given)
    - {step: hold, ended_by: replied, day: 3}
  plans:                             # each plan, in order: how it stands, its installments
    - {state: paid, installments: [paid, paid, paid]}
```

Each miss names the scenario's line and says what happened instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.language.types import Channel

Count = Annotated[int, Field(ge=0, le=10_000)]


class MessageExpectation(BaseModel):
    """A message from `step` (on `day`, on `channel`, with `template`, where given)."""

    model_config = ConfigDict(extra="forbid")

    step: str
    day: Annotated[int, Field(ge=0)] | None = None
    channel: Channel | None = None
    template: str | None = None

    def matches(self, message: dict[str, Any]) -> bool:
        return (
            message["step"] == self.step
            and self.day in (None, message["day"])
            and self.channel in (None, message["channel"])
            and self.template in (None, message["template"])
        )

    def said(self) -> str:
        parts = [f"step {self.step}"]
        if self.day is not None:
            parts.append(f"day {self.day}")
        if self.channel is not None:
            parts.append(self.channel)
        if self.template is not None:
            parts.append(f"template {self.template}")
        return ", ".join(parts)


WaitEnd = Literal["paid", "replied", "plan_accepted", "timeout", "stopped"]


class WaitExpectation(BaseModel):
    """A wait_until step that ended (by `ended_by`, on `day`, where given)."""

    model_config = ConfigDict(extra="forbid")

    step: str
    ended_by: WaitEnd | None = None
    day: Annotated[int, Field(ge=0)] | None = None

    def matches(self, wait: dict[str, Any]) -> bool:
        return (
            wait["step"] == self.step
            and self.ended_by in (None, wait["ended_by"])
            and self.day in (None, wait["day"])
        )

    def said(self) -> str:
        parts = [f"step {self.step}"]
        if self.ended_by is not None:
            parts.append(f"ended by {self.ended_by}")
        if self.day is not None:
            parts.append(f"day {self.day}")
        return ", ".join(parts)


InstallmentState = Literal["due", "paid", "late", "missed"]


class PlanExpectation(BaseModel):
    """A plan of the journey, in the order they were chosen: how it stands at the end
    (`running`, `paid`, `broken`, `replaced`, `finished`, `ended`) and each installment's
    state."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["running", "paid", "broken", "replaced", "finished", "ended"] | None = None
    installments: list[InstallmentState] | None = None


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str | None = None
    messages: dict[str, Count] = Field(default_factory=dict)
    sent: list[MessageExpectation] = Field(default_factory=list)
    not_sent: list[MessageExpectation] = Field(default_factory=list)
    waits: list[WaitExpectation] = Field(default_factory=list)
    plans: list[PlanExpectation] | None = None

    def count(self) -> int:
        """How many expectations it holds."""
        return (
            (self.outcome is not None)
            + len(self.messages)
            + len(self.sent)
            + len(self.not_sent)
            + len(self.waits)
            + len(self.plans or [])
        )


@dataclass(frozen=True)
class Miss:
    path: tuple[str | int, ...]  # where in the scenario, e.g. ("expect", "sent", 0)
    message: str


def check(expect: Expect, timeline: dict[str, Any]) -> list[Miss]:
    """Every expectation the timeline does not meet."""
    misses: list[Miss] = []
    if expect.outcome is not None and timeline["outcome"] != expect.outcome:
        misses.append(
            Miss(
                ("expect", "outcome"),
                f"expected outcome {expect.outcome}, got {timeline['outcome']}",
            )
        )
    messages: list[dict[str, Any]] = timeline["messages"]
    for channel, count in expect.messages.items():
        sent = [m for m in messages if channel in ("all", m["channel"])]
        if len(sent) != count:
            misses.append(
                Miss(
                    ("expect", "messages", channel),
                    f"expected {count} {_noun(channel, count)}, got {len(sent)}{_listed(sent)}",
                )
            )
    for index, wanted in enumerate(expect.sent):
        if not any(wanted.matches(m) for m in messages):
            from_step = [m for m in messages if m["step"] == wanted.step]
            misses.append(
                Miss(
                    ("expect", "sent", index),
                    f"no message {wanted.said()}; from step {wanted.step}: "
                    f"{_listed(from_step).removeprefix(': ') or 'none'}",
                )
            )
    if expect.plans is not None:
        misses += _plan_misses(expect.plans, timeline.get("plans", []))
    for index, unwanted in enumerate(expect.not_sent):
        found = [m for m in messages if unwanted.matches(m)]
        if found:
            misses.append(
                Miss(
                    ("expect", "not_sent", index),
                    f"expected no message {unwanted.said()}, got{_listed(found).lstrip(':')}",
                )
            )
    waits: list[dict[str, Any]] = timeline.get("waits", [])
    for index, wanted_wait in enumerate(expect.waits):
        if not any(wanted_wait.matches(w) for w in waits):
            ended = [w for w in waits if w["step"] == wanted_wait.step]
            said = ", ".join(f"day {w['day']} by {w['ended_by']}" for w in ended[:8])
            misses.append(
                Miss(
                    ("expect", "waits", index),
                    f"no wait {wanted_wait.said()}; step {wanted_wait.step} ended: "
                    f"{said or 'never (it did not run, or still waits)'}",
                )
            )
    return misses


def _plan_misses(wanted: list[PlanExpectation], plans: list[dict[str, Any]]) -> list[Miss]:
    misses = []
    if len(plans) != len(wanted):
        said = ", ".join(f"plan {p['number']} {p['state']}" for p in plans) or "none"
        misses.append(Miss(("expect", "plans"), f"expected {len(wanted)} plans, got {said}"))
    for index, (expected, plan) in enumerate(zip(wanted, plans, strict=False)):
        if expected.state is not None and plan["state"] != expected.state:
            misses.append(
                Miss(
                    ("expect", "plans", index, "state"),
                    f"expected plan {plan['number']} {expected.state}, got {plan['state']}",
                )
            )
        states = [i["state"] for i in plan["installments"]]
        if expected.installments is not None and states != expected.installments:
            misses.append(
                Miss(
                    ("expect", "plans", index, "installments"),
                    f"expected installments {', '.join(expected.installments)}, got "
                    + ", ".join(
                        f"{i['state']} (due {i['due']}, paid {i['paid']} of {i['amount']})"
                        for i in plan["installments"]
                    ),
                )
            )
    return misses


def _noun(channel: str, count: int) -> str:
    what = "messages" if channel == "all" else f"{channel} messages"
    return what.replace("messages", "message") if count == 1 else what


def _listed(messages: list[dict[str, Any]]) -> str:
    if not messages:
        return ""
    shown = ", ".join(
        f"day {m['day']} {m['step']} ({m['channel']}, {m['template']})" for m in messages[:8]
    )
    more = f" and {len(messages) - 8} more" if len(messages) > 8 else ""
    return f": {shown}{more}"
