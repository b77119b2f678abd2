"""Scenarios: an account, a journey, a start time, events and expectations
(docs/simulating.md). An event is any signal of the signal table, the accept_plan update,
or an SMS reply (`sms_reply {text}`, read as the inbound webhook reads it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    create_model,
    field_validator,
    model_validator,
)

from rapport.channels import CHANNELS
from rapport.contract.names import ACCEPT_PLAN_UPDATE
from rapport.contract.payloads import AcceptPlan
from rapport.contract.signals import SIGNALS
from rapport.language.account import Account
from rapport.language.durations import parse_duration
from rapport.language.loader import LoadedJourney, find_definitions, load_journey, validate_model
from rapport.language.models import WaitUntilStep
from rapport.language.problems import DefinitionError, Problem, did_you_mean, format_path
from rapport.language.yaml_source import LineMap, load_yaml
from rapport.policy.window import to_utc
from rapport.runtime.settings import load_settings
from rapport.simulation.expect import Expect
from rapport.simulation.start import Start, parse_start

T = TypeVar("T")


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


def _start_text(value: object) -> object:
    """A start as text, once it is known to be one (YAML reads 2028-03-01T07:30 as a time)."""
    if value is None:
        return None
    parse_start(value)
    return value.isoformat() if isinstance(value, date | datetime) else value


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


class SmsReply(BaseModel):
    """What the customer texts back; it becomes what the inbound webhook makes of it."""

    text: Annotated[str, Field(min_length=1, max_length=1600)]


SMS_REPLY = "sms_reply"

# One event kind per signal in the table, the accept_plan update, and an SMS reply.
EVENTS: dict[str, Any] = {name: _event(name, signal.payload) for name, signal in SIGNALS.items()}
EVENTS[ACCEPT_PLAN_UPDATE] = _event(ACCEPT_PLAN_UPDATE, AcceptPlan)
EVENTS[SMS_REPLY] = _event(SMS_REPLY, SmsReply)
Event: Any = Annotated[
    Union[tuple(EVENTS.values())],  # noqa: UP007
    Field(discriminator="type"),
]


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    journey: str
    start: Annotated[str | None, BeforeValidator(_start_text)] = None
    days: Annotated[int, Field(ge=1, le=3650)] = 90
    account: Account | None = None
    account_file: str | None = None
    events: list[Event] = Field(default_factory=list)
    expect: Expect | None = None

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
    start: Start | None  # None: now
    days: int
    events: list[Any]
    expect: Expect | None = None
    lines: LineMap | None = None  # where each key is in the scenario file

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
    """Read and check a scenario, its account and its journey; raise DefinitionError with
    every problem of the three at once (the expectations are checked against the journey
    even when an event of the scenario is wrong)."""
    document = load_yaml(path)
    problems: list[Problem] = []
    scenario = _or_problems(problems, lambda: validate_model(Scenario, document))
    data = document.data if isinstance(document.data, dict) else {}
    account = scenario.account if scenario is not None else None
    account_file = scenario.account_file if scenario is not None else data.get("account_file")
    if account is None and isinstance(account_file, str):
        file = path.parent / account_file
        if file.is_file():
            account = _or_problems(problems, lambda: validate_model(Account, load_yaml(file)))
        else:
            line = document.lines.line_of(("account_file",))
            problems.append(Problem(str(path), line, "account_file", f"no such file: {file}"))
    name = scenario.journey if scenario is not None else data.get("journey")
    journey = None
    if isinstance(name, str):
        journey = _or_problems(problems, lambda: load_journey(_journey_path(path, name)))
    expect = scenario.expect if scenario is not None else _expect_of(data.get("expect"))
    if expect is not None and journey is not None:
        problems += [
            Problem(str(path), document.lines.line_of(where), format_path(where), message)
            for where, message in _expectation_problems(expect, journey)
        ]
    if problems or scenario is None or account is None or journey is None:
        raise DefinitionError(problems)
    start = None
    if scenario.start is not None:
        start = parse_start(scenario.start, account.customer.timezone)
    return LoadedScenario(
        path,
        journey,
        account,
        start,
        scenario.days,
        list(scenario.events),
        scenario.expect,
        document.lines,
    )


def _or_problems(problems: list[Problem], read: Callable[[], T]) -> T | None:
    """What `read` returns, or None with its problems added to `problems`."""
    try:
        return read()
    except DefinitionError as exc:
        problems += exc.problems
        return None


def _expect_of(data: object) -> Expect | None:
    """The expectations of a scenario the schema refused (for an event, say), when they
    are valid themselves: still checked against the journey in the same run."""
    try:
        return Expect.model_validate(data) if isinstance(data, dict) else None
    except ValueError:
        return None  # the schema's own problems say what is wrong with them


def _expectation_problems(
    expect: Expect, journey: LoadedJourney
) -> list[tuple[tuple[str | int, ...], str]]:
    """Expectations that could never be met: a step the journey does not have, a channel
    that is none."""
    definition = journey.definition
    steps = [step.id for step in definition.steps] + [
        block for block in ("on_paid", "on_partial_payment") if getattr(definition, block)
    ]
    if definition.on_plan is not None:
        steps += [f"on_plan.{key}" for key, _ in definition.on_plan.messages()]
    found: list[tuple[tuple[str | int, ...], str]] = []
    for key in ("sent", "not_sent"):
        for index, wanted in enumerate(getattr(expect, key)):
            if wanted.step not in steps:
                hint = did_you_mean(wanted.step, steps) or f"; steps: {', '.join(steps)}"
                found.append(
                    (
                        ("expect", key, index, "step"),
                        f"the journey has no step {wanted.step!r}{hint}",
                    )
                )
    waits = [step.id for step in definition.steps if isinstance(step, WaitUntilStep)]
    for index, wanted_wait in enumerate(expect.waits):
        if wanted_wait.step not in waits:
            hint = did_you_mean(wanted_wait.step, waits) or (
                f"; its wait_until steps: {', '.join(waits)}" if waits else ""
            )
            found.append(
                (
                    ("expect", "waits", index, "step"),
                    f"the journey has no wait_until step {wanted_wait.step!r}{hint}",
                )
            )
    for channel in expect.messages:
        if channel != "all" and channel not in CHANNELS:
            choices = ["all", *CHANNELS]
            hint = did_you_mean(channel, choices) or f"; use {', '.join(choices)}"
            found.append((("expect", "messages", channel), f"{channel!r} is not a channel{hint}"))
    return found


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
