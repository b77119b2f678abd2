"""Scenarios: an account, a journey, a start time and events (see contracts.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rapport.language.account import Account
from rapport.language.durations import parse_duration
from rapport.language.loader import LoadedJourney, find_definitions, load_journey, validate_model
from rapport.language.problems import DefinitionError, Problem
from rapport.language.types import Channel, Money
from rapport.language.yaml_source import load_yaml
from rapport.policy.window import local, to_utc
from rapport.settings import load_settings


def _moment(value: str) -> str:
    """`+3d2h` (an offset from start) or `2028-03-05T10:00` (customer-local wall time)."""
    text = str(value).strip()
    if text.startswith("+"):
        parse_duration(text[1:])
    else:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{text!r} is neither an offset such as +3d2h nor a local time "
                             "such as 2028-03-05T10:00") from None
    return text


Moment = Annotated[str, Field(description="+3d2h or 2028-03-05T10:00")]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: Moment

    @field_validator("at", mode="before")
    @classmethod
    def _check_at(cls, value: object) -> str:
        return _moment(str(value))


class PaymentEvent(_Event):
    type: Literal["payment_received"]
    amount: Money
    paid_at: datetime | None = None


class OptOutEvent(_Event):
    type: Literal["opt_out"]
    channel: Channel


class EngagementEvent(_Event):
    type: Literal["engagement"]
    kind: Literal["opened", "clicked", "replied"]


class AcceptPlanEvent(_Event):
    type: Literal["accept_plan"]
    installments: int


class NoteEvent(_Event):
    type: Literal["cease_communication", "hardship_reported", "dispute", "dispute_resolved",
                  "pause", "resume"]
    reason: str = ""


Event = Annotated[
    PaymentEvent | OptOutEvent | EngagementEvent | AcceptPlanEvent | NoteEvent,
    Field(discriminator="type"),
]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    journey: str
    start: datetime | None = None
    days: Annotated[int, Field(ge=1, le=3650)] = 90
    account: Account | None = None
    account_file: str | None = None
    events: list[Event] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_account(self) -> Scenario:
        if (self.account is None) == (self.account_file is None):
            raise ValueError("give exactly one of account or account_file")
        return self


@dataclass(frozen=True)
class TimedEvent:
    at: datetime  # UTC
    event: PaymentEvent | OptOutEvent | EngagementEvent | AcceptPlanEvent | NoteEvent


@dataclass(frozen=True)
class LoadedScenario:
    path: Path
    journey: LoadedJourney
    account: Account
    start_local: datetime | None  # naive customer-local wall time; None: now
    days: int
    events: list[PaymentEvent | OptOutEvent | EngagementEvent | AcceptPlanEvent | NoteEvent]

    def timed_events(self, start_utc: datetime) -> list[TimedEvent]:
        zone = self.account.customer.timezone
        timed = []
        for event in self.events:
            if event.at.startswith("+"):
                at = start_utc + parse_duration(event.at[1:])
            else:
                at = to_utc(datetime.fromisoformat(event.at).replace(tzinfo=None), zone)
            timed.append(TimedEvent(at, event))
        return sorted(timed, key=lambda t: t.at)

    def horizon(self, start_utc: datetime) -> datetime:
        return start_utc + timedelta(days=self.days)


def load_scenario(path: Path) -> LoadedScenario:
    """Read and check a scenario, its account and its journey; raise DefinitionError."""
    scenario: Scenario = validate_model(Scenario, load_yaml(path))
    account = scenario.account
    if account is None:
        assert scenario.account_file is not None
        account = validate_model(Account, load_yaml(path.parent / scenario.account_file))
    journey = load_journey(_journey_path(path, scenario.journey))
    start = scenario.start
    if start is not None and start.tzinfo is not None:
        start = local(start, account.customer.timezone).replace(tzinfo=None)
    return LoadedScenario(path, journey, account, start, scenario.days, list(scenario.events))


def _journey_path(scenario_path: Path, journey: str) -> Path:
    """A definition file relative to the scenario, or a journey id in the journeys folder."""
    candidate = scenario_path.parent / journey
    if candidate.suffix in (".yaml", ".yml") or candidate.exists():
        if not candidate.exists():
            raise DefinitionError([Problem(str(scenario_path), 1, "journey",
                                           f"no such file: {candidate}")])
        return candidate
    folders = [scenario_path.parent, load_settings().journeys_dir]
    for definition in find_definitions([f for f in folders if f.is_dir()]):
        try:
            document = load_yaml(definition)
        except DefinitionError:
            continue
        if isinstance(document.data, dict) and document.data.get("id") == journey:
            return definition
    raise DefinitionError([Problem(str(scenario_path), 1, "journey",
                                   f"no journey file or id {journey!r} found")])
