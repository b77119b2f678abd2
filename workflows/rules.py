"""The law of where the customer is, in the journey: since the `rules` patch (decided once,
when each run begins; journeys that began before replay as they ran), every message goes
under the journey's policy and the account's rule packs merged, the stricter winning,
with the window open in every zone the customer may be in.

- `account_rules`, a local activity, reads the packs the account is under (by its
  address), every zone it may be in (the stated one, the address region's, the phone
  number's) and the public holidays where a pack closes on them; at the start, again
  after `account_updated` changes the address, the phone or the time zone, and when the
  zones and holidays it read run out. Its answer is recorded in history, so a pack
  edited later never changes a replay. It also reads what the account's earlier journeys
  delivered within the packs' reach: the caps count every journey of the account.
- `_verdict` decides when a message may go (`rapport.policy.schedule.next_send`) and
  which rule decided; a deferral is recorded with its rule, zone and pack.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from rapport.contract.activities import AccountRules, AccountRulesRequest
from rapport.contract.records import Deferral, recent
from rapport.language.models import Policy
from rapport.policy.caps import horizon
from rapport.policy.limits import JOURNEY, Place, PlaceRules, Source, reach
from rapport.policy.schedule import Verdict, next_send, spread_for
from workflows.core import LOCAL_TIMEOUT, ZONE_MARGIN, JourneyCore

RULES_PATCH = "rules"
RULES_BACKOFF = timedelta(seconds=2)  # a store or a pack folder that fails: wait, doubling
# At most every half hour: a pack folder broken for a month costs a journey about 1,500
# tries (a few thousand events), well inside a history's limits.
RULES_BACKOFF_MAX = timedelta(minutes=30)


class JourneyRules(JourneyCore):
    # (the rules object, its Place): held, not its id(), which a new object may reuse once
    # the old one is freed (an address change), handing a replay another Place than the run
    # had (seen as a nondeterminism error on a query under load).
    _place_cache: tuple[PlaceRules, Place] | None = None
    # why the packs are not read now (status `errors`); None once they are. Not state: a
    # replay meets the same failures, and a query reads only what this worker saw.
    _rules_trouble: str | None = None

    def __init__(self, raw: Any) -> None:
        super().__init__(raw)
        # Decided once, as the run begins (before any local activity: lessons.md).
        self._rules = workflow.patched(RULES_PATCH)

    def _knows(self, patch: str | None) -> bool:
        """Whether this run began under `patch` (a signal's `since`)."""
        return patch is None or (patch == RULES_PATCH and self._rules)

    async def _ensure_rules(self) -> None:
        """The account's packs, zones and holidays, read when missing or running out."""
        s = self.state
        if not self._rules or s.pin is None:
            return
        now = workflow.now()
        if s.rules is not None and s.rules.covers(now, ZONE_MARGIN):
            return
        customer = s.account.customer
        address = customer.address
        request = AccountRulesRequest(
            account_id=s.account.account_id,
            timezone=customer.timezone,
            country=address.country if address else None,
            region=address.region if address else None,
            phone=customer.phone,
            at=now,
            # A run carried from before the patch kept the journey's own reach: ask the store
            # for what lies before it (a delivery counted twice only ever holds a message back).
            since=s.ledger_from or now - self._journey_reach(),
        )
        found = await self._account_rules(request)
        s.rules = found.place
        s.ledger = [*found.earlier, *s.ledger]
        s.ledger_from = found.ledger_from or request.since
        workflow.logger.info(
            "rule packs",
            extra={
                **self._log_fields(),
                "packs": found.place.packs,
                "zones": len(found.place.zones),
            },
        )

    async def _account_rules(self, request: AccountRulesRequest) -> AccountRules:
        """`account_rules`, retried for as long as the store or the pack folder fails: no
        message is decided without the packs."""
        pause = RULES_BACKOFF
        while True:
            try:
                found: AccountRules = await workflow.execute_local_activity(
                    "account_rules",
                    request,
                    result_type=AccountRules,
                    start_to_close_timeout=LOCAL_TIMEOUT,
                    retry_policy=RetryPolicy(maximum_attempts=1),  # the backoff is below
                    summary="rule packs, possible time zones and public holidays of the "
                    "account's place",
                )
                self._rules_trouble = None
                return found
            except (ActivityError, ApplicationError) as error:  # a local one's comes bare
                cause = error.cause if isinstance(error, ActivityError) else error
                self._rules_trouble = (
                    "no message is decided until the rule packs are read: "
                    + str(cause or error)[:300]
                )
                workflow.logger.warning(
                    "rule packs not read; retrying",
                    extra={**self._log_fields(), "why": str(cause or error)[:200]},
                )
            await workflow.sleep(pause)
            pause = min(pause * 2, RULES_BACKOFF_MAX)

    def _journey_reach(self) -> timedelta:
        policy = self.definition.policy
        return horizon(policy.caps, policy.min_gap)

    def _reach(self) -> timedelta:
        """How far back the ledger must reach (what continue-as-new keeps)."""
        own = self._journey_reach()
        rules = self.state.rules
        if not self._rules or rules is None:
            return own
        return max(own, reach(self.definition.policy, rules.rules))

    def _place(self) -> Place:
        rules = self.state.rules
        assert rules is not None
        if self._place_cache is None or self._place_cache[0] is not rules:
            self._place_cache = (rules, rules.place())
        return self._place_cache[1]

    def _packs(self) -> list[str]:
        rules = self.state.rules
        return list(rules.packs) if self._rules and rules is not None else []

    def _verdict(self, at: datetime, channel: str, policy: Policy) -> Verdict:
        s = self.state
        return next_send(
            at,
            channel,
            policy,
            self._place(),
            s.ledger,
            s.talked_at,
            spread_for(s.account.account_id),
        )

    def _why(self) -> str | None:
        """The rule that decided the deferral just recorded, in words, with its citation
        (for the timer's summary); None before the rule packs decided."""
        s = self.state
        if not self._rules or not s.deferred:
            return None
        last = s.deferred[-1]
        if last.pack == JOURNEY:
            why = f"the journey's {last.rule}"
        else:
            citation = next(
                (
                    r.citation
                    for r in self._place().rules
                    if (r.pack, r.rule) == (last.pack, last.rule)
                ),
                "",
            )
            why = f"{last.pack} {last.rule}" + (f" ({citation})" if citation else "")
        where = f" in {last.zone}" if last.zone else ""
        return why + where + (f": {last.detail}" if last.detail else "")

    def _deferred(self, step_id: str, channel: str, verdict: Verdict) -> None:
        """Record a deferral with what decided it (a repeat of the last one is not)."""
        assert verdict.at is not None
        by = verdict.by or Source(JOURNEY, "policy")
        record = Deferral(
            step=step_id,
            channel=channel,
            at=workflow.now(),
            until=verdict.at,
            pack=by.pack,
            rule=by.rule,
            zone=verdict.zone or "",
            detail=verdict.detail,
        )
        s = self.state
        last = s.deferred[-1] if s.deferred else None
        if last is not None and last.model_dump(exclude={"at"}) == record.model_dump(
            exclude={"at"}
        ):
            return
        s.deferred = recent([*s.deferred, record])
        workflow.logger.info(
            "deferred",
            extra={**self._log_fields(), "channel": channel, "rule": by.label()},
        )
