"""A rule pack: the law of one place, as data (`journeys/rules/<pack>.yaml`).

A pack says where it applies (a country, or one region of it: ISO 3166 codes) and lists
its rules. Each rule has an id, its citation, a one-line note in plain words, the
channels it governs (default: all) and exactly one of:

- `window`: contact only between `start` and `end`, customer-local (on `days`, when
  given; on every day otherwise);
- `closed`: no contact on these weekdays (`days`) and, with `holidays: true`, on the
  public holidays of the customer's country and region;
- `cap`: at most `max` messages in any rolling `per`;
- `cooldown`: no contact for `per` after an event (`after: conversation`);
- `duty`: something the engine or the designer must do that is not a number (an
  opt-out line, honouring a cease, signposting debt advice), said in the note.

`not_enforced` says in plain words what of the rule the engine does not enforce yet;
`journey rules` and docs/compliance.md show it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from rapport.channels import NAMES
from rapport.language.durations import Duration
from rapport.language.models import ContactWindow
from rapport.language.types import Channel, Country, Slug, Weekday

Region = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}-[A-Z0-9]{1,3}$")]
RULE_KINDS = ("window", "closed", "cap", "cooldown", "duty")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Where(_Strict):
    country: Country
    region: Region | None = None

    @model_validator(mode="after")
    def _region_of_country(self) -> Where:
        if self.region is not None and not self.region.startswith(f"{self.country}-"):
            raise ValueError(f"region {self.region} is not in country {self.country}")
        return self

    def label(self) -> str:
        return self.region or self.country


class Window(ContactWindow):
    days: list[Weekday] | None = None
    """The days this window holds on; absent: every day."""


class Closed(_Strict):
    days: list[Weekday] = Field(default_factory=list)
    holidays: bool = False


class CapLimit(_Strict):
    max: Annotated[int, Field(ge=1)]
    per: Duration


class Cooldown(_Strict):
    after: Literal["conversation"]
    per: Duration


Duty = Literal["opt_out_line", "cease", "debt_advice", "forbearance", "notice_first"]


class Rule(_Strict):
    id: Slug
    citation: Annotated[str, StringConstraints(min_length=3, max_length=160)]
    note: Annotated[str, StringConstraints(min_length=3, max_length=240)]
    channels: list[Channel] | Literal["all"] = "all"
    window: Window | None = None
    closed: Closed | None = None
    cap: CapLimit | None = None
    cooldown: Cooldown | None = None
    duty: Duty | None = None
    not_enforced: Annotated[str, StringConstraints(min_length=3, max_length=400)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if isinstance(data, dict):
            kinds = [k for k in RULE_KINDS if k in data]
            if len(kinds) != 1:
                raise ValueError("a rule has exactly one of: " + ", ".join(RULE_KINDS))
        return data

    @property
    def kind(self) -> str:
        return next(k for k in RULE_KINDS if getattr(self, k) is not None)

    def governs(self) -> frozenset[str]:
        """The channels this rule speaks of."""
        return frozenset(NAMES if self.channels == "all" else self.channels)

    def summary(self) -> str:
        """The rule's numbers in a few words (the note says it in full)."""
        if self.window is not None:
            days = f" on {', '.join(self.window.days)}" if self.window.days else ""
            return f"{self.window.start:%H:%M}-{self.window.end:%H:%M}{days}"
        if self.closed is not None:
            parts = list(self.closed.days) + (["public holidays"] if self.closed.holidays else [])
            return "closed: " + ", ".join(parts)
        if self.cap is not None:
            return f"at most {self.cap.max} per {_duration(self.cap.per)}"
        if self.cooldown is not None:
            return f"none for {_duration(self.cooldown.per)} after a {self.cooldown.after}"
        return str(self.duty)


class RulePack(_Strict):
    """One pack: where it applies and its rules."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"title": "Rapport rule pack"}
    )

    pack: Slug
    name: Annotated[str, StringConstraints(min_length=1, max_length=120)]
    applies_to: Where
    source: Annotated[str, StringConstraints(min_length=1, max_length=400)]
    rules: Annotated[list[Rule], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _must_be_mapping(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("a rule pack is a mapping of keys such as pack, applies_to, rules")
        return data

    @property
    def regional(self) -> bool:
        return self.applies_to.region is not None


def _duration(value: timedelta) -> str:
    if value % timedelta(days=1) == timedelta():
        days = value.days
        return f"{days} day{'s' if days != 1 else ''}"
    hours = int(value.total_seconds() // 3600)
    return f"{hours} hours"
