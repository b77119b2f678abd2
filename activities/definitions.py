"""`load_journey`: find, load and validate the account's journey at the start of a run."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from rapport.contract.activities import LoadJourney
from rapport.contract.records import JourneySnapshot
from rapport.language.loader import LoadedJourney, load_all
from rapport.language.selection import choose_journey


class DefinitionActivities:
    """Journeys are read from `paths` (files or folders) each time a journey starts,
    so an edited file applies to journeys started after the edit."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    @activity.defn(name="load_journey")
    async def load_journey(self, request: LoadJourney) -> JourneySnapshot:
        journeys, problems = await asyncio.to_thread(load_all, self.paths)
        if problems:
            raise ApplicationError(
                "journey definitions are invalid; run `journey validate`:\n"
                + "\n".join(str(p) for p in problems),
                type="InvalidJourney",
                non_retryable=True,
            )
        chosen = pick(journeys, request)
        return JourneySnapshot(
            definition=chosen.definition,
            templates=dict(chosen.templates.sources),
            source=str(chosen.path),
        )


def pick(journeys: list[LoadedJourney], request: LoadJourney) -> LoadedJourney:
    by_id = {j.definition.id: j for j in journeys}
    if request.journey is not None:
        if request.journey not in by_id:
            raise ApplicationError(
                f"no journey has id {request.journey!r}; journeys: {', '.join(sorted(by_id))}",
                type="JourneyNotFound", non_retryable=True)
        return by_id[request.journey]
    definition = choose_journey([j.definition for j in journeys], request.account)
    if definition is None:
        raise ApplicationError(
            f"no journey's entry rule matches account {request.account.account_id}; "
            "name a journey when starting it", type="JourneyNotFound", non_retryable=True)
    return by_id[definition.id]
