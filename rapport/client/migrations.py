"""`journey migrate`: the running journeys of one definition moved to another version of
it, each at its next safe point (docs/operating.md, "Moving journeys to another version
of their definition").

The version is found in the journeys folder or the store's archive and kept in the
archive first, so every worker finds it by hash. Each journey is then asked what the
move would do (the `migration_preview` query: the journey computes it from its own state,
nothing changes); one whose current step the new version lacks is refused before
anything is sent to it. The others get `migrate_to`, with the hash resolved here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from rapport.catalog.archive import Archive
from rapport.catalog.library import Library
from rapport.catalog.pinned import PinnedJourney
from rapport.catalog.versions import VersionNotFound, find_version
from rapport.client.journeys import JourneyError, Journeys, list_query
from rapport.contract.journey import MigrationPreview, MigrationPreviewRequest
from rapport.contract.names import MIGRATION_PREVIEW_QUERY, workflow_id
from rapport.contract.payloads import MigrateTo

PATIENCE = 15.0  # seconds a journey's workers get to fetch the new version from the archive
AT_ONCE = 16  # journeys asked at the same time
QUERY_TIMEOUT = timedelta(seconds=5)


@dataclass(frozen=True)
class Move:
    """What became of one journey: its preview, or why it was not moved."""

    account_id: str
    preview: MigrationPreview | None
    refused: str | None = None
    sent: bool = False
    already: bool = False  # it follows that version already (moved by an earlier run)


def target_version(
    journey_id: str, version: int, library: Library | None, archive: Archive
) -> PinnedJourney:
    """The version to move to, kept in the archive for every worker; JourneyError naming
    the versions known when there is no such version."""
    folder = library.scan().journeys if library is not None else []
    try:
        found = find_version(journey_id, version, None, folder, archive)
    except VersionNotFound as exc:
        raise JourneyError(str(exc)) from None
    archive.save(found)
    return found


async def migrate(
    journeys: Journeys,
    target: PinnedJourney,
    accounts: Sequence[str] = (),
    dry_run: bool = False,
    reason: str = "",
) -> list[Move]:
    """Move the running journeys of `target`'s journey (or those of `accounts`) to it; with
    `dry_run`, only ask each what the move would do."""
    if accounts:
        ids = list(dict.fromkeys(accounts))
    else:
        rows = await journeys.list(list_query(journey=target.pin.id, running=True), limit=100_000)
        ids = sorted(str(row["AccountId"]) for row in rows if row.get("AccountId"))
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(account_id: str) -> Move:
        async with gate:
            return await _move(journeys, account_id, target, dry_run, reason)

    return list(await asyncio.gather(*(one(a) for a in ids)))


async def _move(
    journeys: Journeys, account_id: str, target: PinnedJourney, dry_run: bool, reason: str
) -> Move:
    try:
        preview = await ask(journeys, account_id, target)
    except JourneyError as exc:
        return Move(account_id, None, str(exc))
    if preview.now is not None and preview.now.hash == target.pin.hash:
        return Move(account_id, preview, already=True)  # nothing to send: done before
    if preview.refused is not None:
        return Move(account_id, preview, preview.refused)
    if dry_run:
        return Move(account_id, preview)
    request = MigrateTo(version=target.pin.version, hash=target.pin.hash, reason=reason)
    try:
        await journeys.signal(account_id, "migrate_to", request.model_dump(exclude_none=True))
    except (JourneyError, RPCError) as exc:
        return Move(account_id, preview, f"not sent: {exc}")
    return Move(account_id, preview, sent=True)


async def ask(
    journeys: Journeys, account_id: str, target: PinnedJourney, patience: float = PATIENCE
) -> MigrationPreview:
    """The journey's own preview of the move, asked again until `patience` runs out while
    it cannot answer yet: a worker that does not hold the version fetches it from the
    archive, and one that has just started replays the journey first (fetching the
    journey's own version). With encryption keys a failure reads only 'Encoded failure',
    so any failure but an unknown query is asked again."""
    handle = await journeys.running(account_id)
    request = MigrationPreviewRequest(version=target.pin.version, hash=target.pin.hash)
    deadline = asyncio.get_running_loop().time() + patience
    while True:
        try:
            preview: MigrationPreview = await handle.query(
                MIGRATION_PREVIEW_QUERY,
                request,
                result_type=MigrationPreview,
                rpc_timeout=QUERY_TIMEOUT,
            )
            return preview
        except WorkflowQueryFailedError as exc:
            last = exc.message
            if "unknown query" in last:
                raise JourneyError(
                    "its workers run a build without migrations: let it move to the "
                    "current build first (docs/operating.md, Upgrading)"
                ) from None
        except RPCError as exc:
            last = f"no worker answered for {workflow_id(account_id)}: {exc}"
        if asyncio.get_running_loop().time() > deadline:
            if "being fetched" in last:
                last = (
                    f"its workers did not find {target.pin.id} v{target.pin.version} "
                    f"({target.pin.hash}) in the archive"
                )
            elif last == "Encoded failure":
                last = "the reason is encrypted (journey status, the worker's log)"
            raise JourneyError(f"it could not answer within {patience:.0f} s: {last[:300]}")
        await asyncio.sleep(0.5)
