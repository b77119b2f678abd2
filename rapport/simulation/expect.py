"""A scenario's `expect:`: what the designer says must happen, checked against the timeline.

```yaml
expect:
  outcome: paid                      # how the journey ends (or `running`)
  messages: {email: 2, sms: 0}       # messages sent per channel (`all`: in total)
  sent:                              # a message by step and day (channel, template: optional)
    - {step: reminder, day: 0, channel: email, template: reminder_loyal}
  not_sent:                          # no message from a step (on a day, if given)
    - {step: call}
```

Each miss names the scenario's line and says what happened instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

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


class Expect(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: str | None = None
    messages: dict[str, Count] = Field(default_factory=dict)
    sent: list[MessageExpectation] = Field(default_factory=list)
    not_sent: list[MessageExpectation] = Field(default_factory=list)


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
    for index, unwanted in enumerate(expect.not_sent):
        found = [m for m in messages if unwanted.matches(m)]
        if found:
            misses.append(
                Miss(
                    ("expect", "not_sent", index),
                    f"expected no message {unwanted.said()}, got{_listed(found).lstrip(':')}",
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
