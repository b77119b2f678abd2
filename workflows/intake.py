"""What the journey does for billing systems in any language (docs/billing-integration.md),
behind one patch decided first thing in each run (`INTAKE_PATCH`; journeys begun before
it replay as they ran):

- it publishes its own search attributes (`AccountId` even when its input is refused,
  read from the workflow id, so such a journey is found by account), its memo and a
  summary at start: a start from another SDK or the `temporal` CLI sets none of them;
- a start or signal that reaches a production worker in plain text fails the journey at
  once, saying how to encrypt and how to delete what was sent (`rapport.contract.plain`);
  an opt-out or a cease in it is taken first, so the customer's word still holds;
- a start or signal the worker cannot decode (`read`: JSON nested too deep, not UTF-8, an
  unknown encoding) fails the journey or is refused, saying why, instead of failing a
  workflow task forever: the workflow takes raw payloads and decodes them itself;
- a start or signal with more than one argument (another SDK's `args: [a, b]`, `--input`
  given twice to the `temporal` CLI) fails the journey or is refused, saying to send one
  (`one_argument`), except that a stop is taken from its first argument when that one
  can be read (the rest refused); refusing such a signal is behind `ARGUMENTS_PATCH`
  (before it, the SDK dropped one whose arguments it could not decode, unseen);
- a signal of no known name is refused where `status.refused` shows it, instead of
  waiting unseen for a handler that never comes; an unknown query or update is answered
  with the names there are;
- the thank-you for a payment in full is transactional (`JourneyDelivery._transactional`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError
from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

from rapport.contract import search_attributes as sa
from rapport.contract.journey import summary
from rapport.contract.names import ACCEPT_PLAN_UPDATE
from rapport.contract.payloads import AcceptPlan
from rapport.contract.plain import PLAIN_TEXT_REFUSED, PlainText, Unreadable, refusal, unreadable
from rapport.contract.signals import SIGNALS
from workflows.core import problems_of
from workflows.steps import JourneySteps

INTAKE_PATCH = "intake"
ARGUMENTS_PATCH = "arguments"
# taken even from a refused plain-text signal, or from the first of several arguments
STOPS = ("opt_out", "cease_communication")
_ACCOUNT_IN_ID = re.compile(r"^delinquency-([A-Za-z0-9._-]{1,64})$")
if TYPE_CHECKING:
    Foreign = Any  # to callers: whatever they send (a JourneyInput, a dict)
else:
    Foreign = RawValue  # to the SDK: hand the payload over undecoded (`read` decodes it)
NOTHING = Payload(metadata={"encoding": b"binary/null"})
NO_INPUT = RawValue(NOTHING)  # what a start or signal sent without an argument reads as
NO_START = Unreadable(
    "the journey was started without input: send the account and the journey's id as "
    "its one argument (docs/billing-integration.md)"
)


F = TypeVar("F", bound=Callable[..., Any])


def one_argument(fn: F) -> F:
    """`fn` (the workflow's init and run, a signal handler) takes `*extra` too, hidden from
    its signature. The SDK reads a handler's parameters with `inspect.signature`, which
    honours `__signature__`: it sees the one `RawValue` parameter, so a single payload
    arrives undecoded, as before. With more payloads than that the SDK drops the hints,
    decodes them all (`rapport.runtime.temporal._Payloads`: `Unreadable` when it cannot)
    and calls `fn` with them: `*extra` takes the rest, and the journey refuses them
    (`too_many`), where calling a one-parameter `fn` raised a TypeError inside the SDK,
    failing the workflow task on every retry. Apply it before the SDK's decorator."""
    signature = inspect.signature(fn)
    one = [p for p in signature.parameters.values() if p.kind is not p.VAR_POSITIONAL]
    fn.__signature__ = signature.replace(parameters=one)  # type: ignore[attr-defined]
    return fn


def too_many(what: str, values: tuple[Any, ...], send: str) -> Unreadable | PlainText:
    """Input sent with several arguments (`values`), refused; in plain text when any of
    them came in plain text (refused as such in production: `rapport.contract.plain`)."""
    first = values[0].value if isinstance(values[0], PlainText) else values[0]
    found = first.get("payment_id") if isinstance(first, dict) else None
    refused = Unreadable(
        f"{what} with {len(values)} arguments: send {send} as its one argument "
        "(docs/billing-integration.md)",
        payment_id=found[:128] if isinstance(found, str) else None,
    )
    plain = next((v for v in values if isinstance(v, PlainText)), None)
    return refused if plain is None else PlainText(refused, plain.encoding)


def _readable(value: Any) -> bool:
    """Whether one of several arguments could be decoded (in plain text or not)."""
    return not isinstance(value.value if isinstance(value, PlainText) else value, Unreadable)


def read(raw: RawValue, what: str) -> Any:
    """A payload from outside, decoded here rather than by the SDK: one the SDK cannot
    decode fails the workflow task, again on every retry. Anything that goes wrong here
    is the sender's (the codec ran before: a key this worker lacks still fails the task)."""
    try:
        return workflow.payload_converter().from_payload(raw.payload)
    except Exception as exc:
        encoding = raw.payload.metadata.get("encoding", b"no encoding").decode(errors="replace")
        why = problems_of(exc) if isinstance(exc, ValidationError) else _reason(exc)
        return Unreadable(unreadable(what, encoding, why))


def _reason(exc: BaseException) -> str:
    """What went wrong, from the innermost cause (the SDK wraps a converter's errors)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, ValidationError):
        return problems_of(exc)
    return f"{type(exc).__name__}: {exc}"


class JourneyIntake(JourneySteps):
    def _begin_run(self, raw: RawValue, extra: tuple[Any, ...] = ()) -> Any:
        """Decide the patches, once and before anything else in the run; what the start
        carried, unwrapped when it came in plain text (refused in `_introduce`), or
        `Unreadable` (refused as invalid input: `extra` arguments too)."""
        self._intake = workflow.patched(INTAKE_PATCH)
        self._arguments = workflow.patched(ARGUMENTS_PATCH)
        if extra:  # before the patch such a start failed its first task: nothing recorded
            value = too_many(
                "the journey was started", (raw, *extra), "the account and the journey's id"
            )
        else:
            value = NO_START if raw is NO_INPUT else read(raw, "the journey's input")
        self._plain_start = isinstance(value, PlainText) and self._intake
        return value.value if isinstance(value, PlainText) else value

    def _introduce(self) -> None:
        """Search attributes, memo and summary at start, for starters in any language
        (the Python client sets them with the start: then nothing is written). A refused
        input fails the journey here, after `AccountId` is set."""
        if not self._intake:
            return
        info = workflow.info()
        if self._plain_start:
            self.problem = refusal("start", info.workflow_id, info.run_id)
        request = None if self.problem else self.request
        if request is not None and request.carried is not None:
            return  # a continued run: its first run published all this
        values: dict[Any, Any] = {}
        match = _ACCOUNT_IN_ID.match(info.workflow_id)
        if request is not None:
            values = sa.at_start(request.account)
        elif match:
            values = {sa.ACCOUNT_ID: match.group(1)}
        changed = [k.value_set(v) for k, v in values.items() if self._published.get(k.name) != v]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published.update({k.name: v for k, v in values.items()})
        if request is not None and "currency" not in info.raw_memo:
            workflow.upsert_memo({"currency": request.account.currency})
        workflow.set_current_details(
            self.problem or summary(self.request.account, self.request.journey)
        )
        if self._plain_start:
            raise ApplicationError(self.problem or "", type=PLAIN_TEXT_REFUSED, non_retryable=True)

    async def _take(self, name: str, raw: RawValue, extra: tuple[Any, ...] = ()) -> None:
        """A signal from the table; one in plain text on a production worker fails the
        journey (a stop in it is taken first and kept before the journey ends); one that
        cannot be read, or sent with `extra` arguments, is refused (before the patches the
        SDK dropped it, unseen), but a stop is taken from its first argument (`_stop_of`).
        A signal newer than the run is refused as unknown, as the run did when it began."""
        if not self._knows(SIGNALS[name].since):
            self._unknown_signal(name)
            return
        if extra:
            values = (raw, *extra)
            if not self._arguments and any(isinstance(v, Unreadable) for v in values):
                return  # what the SDK did before the patch (one that decoded wedged)
            if name in STOPS and self._arguments and _readable(values[0]):
                payload = self._stop_of(name, values)
            else:
                payload = too_many("sent", values, "the payload")
        else:
            payload = read(raw, f"signal {name}'s payload")
        if isinstance(payload, Unreadable) and not self._intake:
            return
        if isinstance(payload, PlainText):
            if self._intake:
                if name in STOPS and self.problem is None:
                    self._receive(name, payload.value)
                    await self._kept()
                info = workflow.info()
                raise ApplicationError(
                    refusal(f"signal {name}", info.workflow_id, info.run_id),
                    type=PLAIN_TEXT_REFUSED,
                    non_retryable=True,
                )
            payload = payload.value
        self._receive(name, payload)

    def _stop_of(self, name: str, values: tuple[Any, ...]) -> Any:
        """A stop sent with more arguments than one: the customer's word holds, so its
        first argument is read as the stop's payload (taken, and kept in the store and
        the consent record, as any stop is) and the others are refused where
        `status.refused` shows it. In plain text when any of them came in plain text."""
        if self.problem is None:
            self.state.refuse(
                name,
                workflow.now(),
                f"sent with {len(values)} arguments: the {name} was read from the first, "
                f"the other {len(values) - 1} ignored; send the payload as its one argument "
                "(docs/billing-integration.md)",
            )
            workflow.logger.warning(
                "signal arguments ignored", extra={**self._log_fields(), "signal": name}
            )
        first = values[0].value if isinstance(values[0], PlainText) else values[0]
        plain = next((v for v in values if isinstance(v, PlainText)), None)
        return first if plain is None else PlainText(first, plain.encoding)

    async def _kept(self) -> None:
        """Whatever the journey is still writing to the store (its stops), done."""
        background = getattr(self, "_background_done", None)
        if background is not None:
            await background()

    def _unknown_signal(self, name: str) -> None:
        if not self._intake or self.problem is not None:
            return  # before the patch such a signal waited for a handler, unseen
        self.state.refuse(name, workflow.now(), f"unknown signal; signals: {', '.join(SIGNALS)}")
        workflow.logger.warning("unknown signal", extra={**self._log_fields(), "signal": name})

    def _plan_request(self, raw: Any, extra: tuple[Any, ...] = ()) -> AcceptPlan | None:
        """`accept_plan`'s payload read here, so a bad one is refused in our words (one
        sent with more arguments too: the validator refuses it, nothing is recorded)."""
        if extra:
            raise ApplicationError(
                f"{ACCEPT_PLAN_UPDATE}: sent with {1 + len(extra)} arguments: send "
                '{"installments": N} as its one argument',
                type="InvalidUpdate",
            )
        if raw is None or isinstance(raw, AcceptPlan):
            return raw
        if isinstance(raw, PlainText):
            if self._intake:
                info = workflow.info()
                raise ApplicationError(
                    refusal(f"update {ACCEPT_PLAN_UPDATE}", info.workflow_id, info.run_id),
                    type=PLAIN_TEXT_REFUSED,
                )
            raw = raw.value
        try:
            return AcceptPlan.model_validate(raw)
        except ValidationError as exc:
            raise ApplicationError(
                f"{ACCEPT_PLAN_UPDATE}: {problems_of(exc)}", type="InvalidUpdate"
            ) from None


def unknown(kind: str, name: str, names: Sequence[str]) -> ApplicationError:
    """What an unknown query or update is answered (readable without the codec)."""
    return ApplicationError(
        f"unknown {kind} {name!r}; this workflow has {', '.join(names)}", type="UnknownName"
    )
