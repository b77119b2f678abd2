"""Scenarios: an account, a journey, a start time and events (docs/simulating.md). An
event is any signal of the signal table, or the accept_plan update, with its payload."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

from rapport.contract.names import ACCEPT_PLAN_UPDATE
from rapport.contract.payloads import AcceptPlan
from rapport.contract.signals import SIGNALS
from rapport.language.account import Account
from rapport.language.durations import parse_duration
from rapport.language.loader import LoadedJourney, find_definitions, load_journey, validate_model
from rapport.language.problems import DefinitionError, Problem
from rapport.language.yaml_source import load_yaml
from rapport.policy.window import local, to_utc
from rapport.runtime.settings import load_settings


def _moment(value: str) -> str:
    """`+3d2h` (an offset from start) or `2028-03-05T10:00` (customer-local wall time)."""
    text = str(value).strip()
    if text.startswith("+"):
        parse_duration(text[1:])
    else:
        try:
            datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"{text!r} is neither an offset such as +3d2h nor a local time "
                "such as 2028-03-05T10:00"
            ) from None
    return text


Moment = Annotated[str, Field(description="+3d2h or 2028-03-05T10:00")]


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: Moment

    @field_validator("at", mode="before")
    @classmethod
    def _check_at(cls, value: object) -> str:
        return _moment(str(value))


def _event(name: str, payload: type[BaseModel]) -> Any:
    """A scenario event: `at`, `type` and the payload's fields."""
    kind: Any = Literal[name]
    return create_model(f"{name}_event", __base__=(_Event, payload), type=(kind, ...))


# One event kind per signal in the table, and the accept_plan update.
EVENTS: dict[str, Any] = {name: _event(name, signal.payload) for name, signal in SIGNALS.items()}
EVENTS[ACCEPT_PLAN_UPDATE] = _event(ACCEPT_PLAN_UPDATE, AcceptPlan)
Event: Any = Annotated[
    Union[tuple(EVENTS.values())],  # noqa: UP007
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

    @model_validator(mode="before")
    @classmethod
    def _payment_ids(cls, data: Any) -> Any:
        """A payment event may leave out its id: each gets its own."""
        events = data.get("events") if isinstance(data, dict) else None
        for index, event in enumerate(events if isinstance(events, list) else []):
            if isinstance(event, dict) and event.get("type") == "payment_received":
                event.setdefault("payment_id", f"scenario-payment-{index + 1}")
        return data

    @model_validator(mode="after")
    def _one_account(self) -> Scenario:
        if (self.account is None) == (self.account_file is None):
            raise ValueError("give exactly one of account or account_file")
        return self


@dataclass(frozen=True)
class TimedEvent:
    at: datetime  # UTC
    event: Any


@dataclass(frozen=True)
class LoadedScenario:
    path: Path
    journey: LoadedJourney
    account: Account
    start_local: datetime | None  # naive customer-local wall time; None: now
    days: int
    events: list[Any]

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
            raise DefinitionError(
                [Problem(str(scenario_path), 1, "journey", f"no such file: {candidate}")]
            )
        return candidate
    folders = [scenario_path.parent, load_settings().journeys_dir]
    for folder in [f for f in folders if f.is_dir()]:
        found: list[tuple[int, Path]] = []
        for definition in find_definitions([folder]):
            try:
                document = load_yaml(definition)
            except DefinitionError:
                continue
            data = document.data
            if isinstance(data, dict) and data.get("id") == journey:
                version = data.get("version")
                found.append((version if isinstance(version, int) else 0, definition))
        if found:
            return max(found)[1]  # several versions: the highest, as new journeys start
    raise DefinitionError(
        [Problem(str(scenario_path), 1, "journey", f"no journey file or id {journey!r} found")]
    )
