"""Payment plans the journey follows (`on_plan`, behind the `plans` patch decided when
each run begins): which plans a customer may choose now, setting one up when they
choose, and following it until it is paid, breaks or is replaced.

- The doors: the journey's plan terms (`policy.plans`, from the portal's first visit, for
  the accounts its `when` allows), an offer standing (`offer_plan`), and, for a customer
  on a plan, a new choice (`on_plan.renegotiate` times; the old schedule ends).
- Choosing: the installments from the one money module (the remainder on the last), due
  weekly, fortnightly or monthly from the first due date, each moved off the days the
  account's rule packs close (`plan_due_dates`, a local activity: recorded).
- Following: a confirmation with the schedule, a reminder `remind_before` each due date
  (under the whole policy), thanks after each payment (waiting only for the window), a
  grace after each due date; `broken.misses` missed installments break the plan and the
  journey goes on at `broken.goto`. Paid off: the journey ends `paid`.

The plan's ledger (which payment paid what, each installment's state) is pure
(`rapport.policy.installments`); payments and reversals reach it through the state's
signal effects (`workflows/state.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from rapport.contract.activities import PlanDates, PlanDatesMoved
from rapport.contract.payloads import AcceptPlan
from rapport.contract.records import AcceptedPlan, PlanChoices, PlanView, ScheduledDue
from rapport.language.expressions import ExpressionError, is_true
from rapport.language.models import DEFAULT_FIRST_DUE, Frequency, Message, OnPlan
from rapport.money import installments as split
from rapport.policy.installments import Installment, Plan, PlanEnd, new_plan, reminder_due
from rapport.policy.plans import due_dates, plan_choice_rejection, plan_options
from rapport.policy.window import local, to_utc
from workflows.core import LOCAL_TIMEOUT
from workflows.delivery import JourneyDelivery, Sent
from workflows.state import PLAN_THANKS

PLANS_PATCH = "plans"
PLAN_STEP = "plan"  # JourneyStep while a plan runs
ON_PLAN = "on_plan"  # Outcome while a plan runs
CONFIRMATION = "on_plan.confirmation"
REMINDER = "on_plan.reminder"
PLAN_MESSAGES = (CONFIRMATION, REMINDER, PLAN_THANKS)
EARLIER_PLANS = 5  # earlier plans a journey keeps (status, simulations)


@dataclass(frozen=True)
class Door:
    """A way to a plan open now: which choices, on which balance, from when."""

    kind: str  # terms, offer, change
    installments: list[int]
    every: list[Frequency]
    minimum: Decimal
    balance: Decimal
    first_due: date


class JourneyPlan(JourneyDelivery):
    _plans = False  # the run began under the plans patch (decided in `__init__`)
    _choosing = False  # an accept_plan is setting a plan up (it awaits the due dates)
    _reminding: int | None = None  # the installment whose reminder is under way

    def _follows_plans(self) -> bool:
        """Accepted plans are followed (not an end): the patch, and `on_plan` in the journey."""
        s = self.state
        return self._plans and s.pin is not None and self.definition.on_plan is not None

    # --- which plans may be chosen now ---------------------------------------------------

    def _doors(self) -> list[Door]:
        """The ways to a plan open now, in the order a choice is tried. Pure (the validator
        and the status query use it): no state is changed, an expression that fails is
        false."""
        s, now = self.state, workflow.now()
        terms = self.definition.policy.plans
        if s.on_plan():
            on_plan = self.definition.on_plan
            if on_plan is None or s.plan_changes >= on_plan.renegotiate:
                return []
            first = self._first_due(terms.first_due_in if terms else DEFAULT_FIRST_DUE)
            if terms is not None:
                return [self._door("change", terms.installments, terms.min_installment, first)]
            offer = s.plan_offer
            if offer is None:
                return []
            return [self._door("change", offer.offered, offer.min_installment, first)]
        if s.stopped():
            return []
        doors = []
        offer = s.plan_offer
        if offer is not None and (offer.expires_at is None or now <= offer.expires_at):
            doors.append(
                Door(
                    "offer",
                    offer.offered,
                    self.definition.plan_frequencies(),
                    offer.min_installment,
                    offer.balance or s.balance,
                    offer.first_due,
                )
            )
        if terms is not None and self._quietly(terms.when):
            first = self._first_due(terms.first_due_in)
            doors.append(self._door("terms", terms.installments, terms.min_installment, first))
        return doors

    def _door(self, kind: str, installments: list[int], minimum: Decimal, first: date) -> Door:
        every = self.definition.plan_frequencies()
        return Door(kind, list(installments), every, minimum, self.state.balance, first)

    def _first_due(self, after: timedelta) -> date:
        return local(workflow.now() + after, self.zone).date()

    def _quietly(self, expression: str | None) -> bool:
        """A `when` evaluated where nothing may be recorded (a validator, a query)."""
        try:
            return is_true(expression, self._context())
        except ExpressionError:
            return False

    def _plan_choices(self) -> PlanChoices | None:
        """What the portal offers now, on the balance now: the first door open."""
        if not self._plans or self.state.pin is None or self.state.zone is None:
            return None
        for door in self._doors():
            options = plan_options(
                door.balance, door.installments, door.minimum, self.state.account.currency
            )
            if options:
                return PlanChoices(
                    options=options,
                    every=list(door.every),
                    first_due=door.first_due,
                    changes_plan=door.kind == "change",
                )
        return None

    def _door_for(self, request: AcceptPlan) -> Door:
        """The door `request` goes through, or ApplicationError saying why none does."""
        s = self.state
        if s.stopped() and not s.on_plan():
            raise ApplicationError(f"this journey has ended ({s.ending()})")
        doors = self._doors()
        if not doors:
            if s.on_plan():
                raise ApplicationError(
                    "this plan cannot be changed again: the journey allows "
                    f"{self.definition.on_plan.renegotiate if self.definition.on_plan else 0} "
                    "change(s) of plan"
                )
            offer = s.plan_offer
            if offer is not None and offer.expires_at is not None:
                raise ApplicationError(
                    f"the plan offer expired on {local(offer.expires_at, self.zone):%Y-%m-%d %H:%M}"
                )
            raise ApplicationError("no payment plan has been offered to this account yet")
        reasons = []
        for door in doors:
            reason = self._door_refuses(door, request)
            if reason is None:
                return door
            reasons.append(reason)
        raise ApplicationError(reasons[0])

    def _door_refuses(self, door: Door, request: AcceptPlan) -> str | None:
        s = self.state
        offer = s.plan_offer
        if door.kind == "offer" and offer is not None and offer.balance not in (None, s.balance):
            return (
                f"the balance changed since the offer ({offer.balance} then, "
                f"{s.balance} now); that offer no longer stands"
            )
        return plan_choice_rejection(
            request.installments,
            request.every or door.every[0],
            door.installments,
            door.every,
            door.balance,
            door.minimum,
            s.account.currency,
        )

    def _same_plan(self, request: AcceptPlan) -> bool:
        """The plan the customer is on, chosen again (a second tap): nothing changes."""
        plan, s = self.state.plan, self.state
        return (
            s.on_plan()
            and plan is not None
            and len(plan.installments) == request.installments
            and (request.every or plan.every) == plan.every
        )

    def _check_plan_choice(self, request: AcceptPlan | None) -> None:
        """The validator's check under the plans patch (refusals say why)."""
        if self.problem is not None:
            raise ApplicationError("this journey did not start: its input was invalid")
        if request is None:
            raise ApplicationError('accept_plan needs a payload: {"installments": N}')
        if self.state.pin is None or self.state.zone is None:
            raise ApplicationError("the journey is starting; try again in a moment")
        if self._choosing:
            raise ApplicationError("a plan is being set up; try again in a moment")
        if self._same_plan(request):
            return
        self._door_for(request)

    # --- choosing ------------------------------------------------------------------------

    async def _choose_plan(self, request: AcceptPlan) -> AcceptedPlan:
        """Set up the plan the customer chose: its schedule, its due dates moved off closed
        days (recorded), the old plan (if any) replaced; the journey follows it."""
        s = self.state
        if self._same_plan(request) and s.accepted_plan is not None:
            return s.accepted_plan
        if self._choosing:
            raise ApplicationError("a plan is being set up; try again in a moment")
        door = self._door_for(request)
        on_plan = self.definition.on_plan
        assert on_plan is not None
        self._choosing = True
        try:
            every = request.every or door.every[0]
            amounts = split(door.balance, request.installments, s.account.currency)
            dates = due_dates(door.first_due, request.installments, every)
            moved = await self._moved_off_closed_days(dates, on_plan)
        finally:
            self._choosing = False
        if (s.stopped() and not s.on_plan()) or door.balance != s.balance:
            raise ApplicationError(  # paid, ceased or paid part while the dates were read
                "the journey changed while the plan was set up; please choose again"
            )
        return self._start_plan(door, request.installments, every, amounts, moved, on_plan)

    async def _moved_off_closed_days(self, dates: list[date], on_plan: OnPlan) -> PlanDatesMoved:
        address = self.state.account.customer.address
        channels = sorted({c for _, m in on_plan.messages() for c in m.channels()})
        moved: PlanDatesMoved = await workflow.execute_local_activity(
            "plan_due_dates",
            PlanDates(
                dates=dates,
                country=address.country if address else None,
                region=address.region if address else None,
                channels=channels,
            ),
            result_type=PlanDatesMoved,
            start_to_close_timeout=LOCAL_TIMEOUT,
            retry_policy=RetryPolicy(maximum_attempts=5),
            summary=f"due dates of a plan of {len(dates)}, moved off days the rule packs close",
        )
        return moved

    def _start_plan(
        self,
        door: Door,
        count: int,
        every: Frequency,
        amounts: list[Decimal],
        moved: PlanDatesMoved,
        on_plan: OnPlan,
    ) -> AcceptedPlan:
        s, now = self.state, workflow.now()
        if s.plan is not None:  # the one before: replaced, or broken or ended earlier
            if s.on_plan():
                s.plan = s.plan.end("replaced", s.wall(now))
                s.plan_changes += 1
            s.earlier_plans = [*s.earlier_plans, s.plan][-EARLIER_PLANS:]
        s.plans_accepted += 1
        s.plan = new_plan(
            s.plans_accepted,
            [(d.due, d.moved_from, d.why) for d in moved.dues],
            amounts,
            every,
            now,
            s.wall(now),
            on_plan.remind_before,
        )
        s.plan_thanks_due = []
        s.plan_offer = None  # taken: a new offer comes from a step
        accepted = AcceptedPlan(
            installments=count,
            amount=amounts[0],
            last_amount=amounts[-1],
            first_due=s.plan.installments[0].due,
            accepted_at=now,
            every=every,
            schedule=[
                ScheduledDue(due=i.due, amount=i.amount, moved_from=i.moved_from)
                for i in s.plan.installments
            ],
        )
        s.accepted_plan = accepted
        s.heard("plan_accepted")  # ends a wait_until that waits for it
        self._changed("accept_plan", kind=door.kind, installments=count, every=every)
        return accepted

    # --- following -----------------------------------------------------------------------

    async def _follow_plan(self) -> bool:
        """Follow the plan the customer is on until it ends. True: it broke (or every
        installment is paid and a balance is left) and the journey goes on at
        `broken.goto`; False: the journey finishes (paid, ceased, closed)."""
        s = self.state
        on_plan = self.definition.on_plan if s.pin is not None else None
        if s.on_plan() and s.step != PLAN_STEP:
            s.step = PLAN_STEP  # JourneyStep=plan, Outcome=on_plan
            self._publish()
        while s.on_plan() and on_plan is not None and s.plan is not None:
            if s.ceased or s.outcome is not None:
                s.plan = s.plan.end("ended", s.wall(workflow.now()))
                break
            s.step = PLAN_STEP
            await self._ensure_zone()
            plan = s.plan
            if not plan.confirmed:
                await self._confirm(on_plan, plan.number)
                continue
            if s.plan_thanks_due:
                await self._thank(on_plan, s.plan_thanks_due[0])
                continue
            now = s.wall(workflow.now())
            if plan.left <= 0:  # paid as agreed, yet billing says more is owed
                return self._end_plan("finished", on_plan)
            breaks = min(on_plan.broken.misses, len(plan.installments))
            if not s.held() and plan.misses(now, on_plan.grace) >= breaks:
                return self._end_plan("broken", on_plan)
            due = reminder_due(plan, now, on_plan.remind_before)
            if due is not None and not s.held():
                await self._remind(on_plan, plan.number, due)
                continue
            wake = plan.next_moment(now, on_plan.grace, on_plan.remind_before)
            self._publish()
            await self._rest("waiting", to_utc(wake, self.zone) if wake else None, _what(plan))
        if s.paid and on_plan is not None and self.definition.on_paid is None:
            last = s.receipt("on_paid")  # no on_paid: the plan's thanks for the last payment
            if on_plan.thanks is not None and last is not None:
                await self._thank(on_plan, last.payment_id)
        return False

    def _end_plan(self, how: PlanEnd, on_plan: OnPlan) -> bool:
        s = self.state
        assert s.plan is not None
        s.plan = s.plan.end(how, s.wall(workflow.now()))
        s.accepted_plan = None
        s.plan_offer = None
        s.plan_thanks_due = []
        s.position = self.definition.step_index()[on_plan.broken.goto]
        s.step = on_plan.broken.goto
        s.resume_at = None
        self._changed(f"plan {how}", goto=on_plan.broken.goto)
        self._publish()
        return True

    async def _confirm(self, on_plan: OnPlan, number: int) -> None:
        s = self.state
        if on_plan.confirmation is not None:
            await self._plan_message(
                CONFIRMATION,
                number,
                on_plan.confirmation,
                lambda: s.ceased or s.plan is None or s.plan.number != number,
            )
        if s.plan is not None and s.plan.number == number:
            s.plan = s.plan.model_copy(update={"confirmed": True})

    async def _thank(self, on_plan: OnPlan, payment_id: str) -> None:
        s = self.state
        if on_plan.thanks is not None:
            s.thanking = payment_id
            occurrence = s.begin(PLAN_THANKS)  # resumed with its key after continuing
            await self._plan_message(
                PLAN_THANKS,
                occurrence,
                on_plan.thanks,
                lambda: s.ceased or (not s.paid and payment_id not in s.plan_thanks_due),
            )
            s.thanking = None
        s.plan_thanks_due = [p for p in s.plan_thanks_due if p != payment_id]

    async def _remind(self, on_plan: OnPlan, number: int, due: Installment) -> None:
        """The reminder before installment `due`, under the whole policy; called off when
        it is paid, its due date passes, the plan ends or changes, or thanks are due."""
        s = self.state
        late = to_utc(due.late_from(), self.zone)

        def needless() -> bool:
            plan = s.plan
            if (s.stopped() and not s.on_plan()) or plan is None or plan.number != number:
                return True
            row = next(i for i in plan.installments if i.number == due.number)
            return row.left <= 0 or bool(s.plan_thanks_due) or workflow.now() >= late

        self._reminding = due.number
        sent = await self._plan_message(
            REMINDER, number * 1000 + due.number, on_plan.reminder, needless, notice=False
        )
        self._reminding = None
        plan = s.plan
        if sent != "stopped" and plan is not None and plan.number == number:
            row = next(i for i in plan.installments if i.number == due.number)
            s.plan = plan.with_installment(row.model_copy(update={"reminded": True}))

    async def _plan_message(
        self,
        name: str,
        occurrence: int,
        message: Message,
        until: Callable[[], bool],
        notice: bool = True,
    ) -> Sent:
        """One of the plan's messages, its key the plan's business identity (the plan,
        the installment, the payment's turn). A confirmation and a thank-you are
        transactional: they wait for the window, never for the gap or the caps."""
        s = self.state
        s.entered[name] = occurrence
        s.occurrences[name] = max(s.occurrences.get(name, 0), occurrence)
        result = await self._deliver(name, message, notice=notice, until=until, at_once=notice)
        s.entered.pop(name, None)
        return result

    def _schedule_for(self, step_id: str) -> PlanView | None:
        """The plan, as an on_plan message's template reads it (`plan`)."""
        s, on_plan = self.state, self.definition.on_plan
        if step_id not in PLAN_MESSAGES or s.plan is None or on_plan is None:
            return None
        view = PlanView.of(s.plan, s.wall(workflow.now()), on_plan.grace)
        if step_id == REMINDER and self._reminding is not None:
            view = view.model_copy(update={"next_number": self._reminding})
        return view

    def _plan_views(self) -> tuple[PlanView | None, list[PlanView]]:
        """`status.plan`, the plan the customer is on (or was last), and the plans before
        it; states as of now."""
        s = self.state
        if s.plan is None or s.pin is None:
            return None, []
        on_plan = self.definition.on_plan
        grace, now = (on_plan.grace if on_plan else timedelta()), s.wall(workflow.now())
        return PlanView.of(s.plan, now, grace), [
            PlanView.of(p, now, grace) for p in s.earlier_plans
        ]


def _what(plan: Plan) -> str:
    """`plan 1: installment 2 of 3 due 2028-04-08` for the rest's timer."""
    following = plan.next_open()
    if following is None:
        return f"plan {plan.number}"
    count = len(plan.installments)
    return f"plan {plan.number}: installment {following.number} of {count} due {following.due}"
