"""Versions of one journey's definition, for moving running journeys between them
(`journey migrate`, the `migrate_to` signal).

A version is found in the journeys folder (two versions of a journey may sit side by
side there: the newest starts new journeys, every one is there to move to) or in the
archive of pinned versions (a version no longer in the folder, pinned by journeys
earlier). Its content hash names it exactly; its number alone names it when only one
definition of that number is known.
"""

from __future__ import annotations

from collections.abc import Iterable

from rapport.catalog.archive import Archive
from rapport.catalog.pinned import PinnedJourney


class VersionNotFound(LookupError):
    """No such version of the journey, or more than one: the message says which exist."""


def find_version(
    journey_id: str,
    version: int,
    content_hash: str | None,
    folder: Iterable[PinnedJourney],
    archive: Archive,
) -> PinnedJourney:
    """The definition of `journey_id` at `version` (and `content_hash`, when given), from
    the folder's valid journeys or the archive; of two numbered alike (a file edited
    without a new version), the folder's. VersionNotFound names the versions known."""
    in_folder = {j.pin.hash: j for j in folder if j.pin.id == journey_id}
    known = {j.pin.hash: j for j in archive.versions(journey_id)} | in_folder
    if content_hash is not None and content_hash not in known:
        pinned = archive.load(content_hash)
        if pinned is not None:
            known[content_hash] = pinned
    matching = [
        j
        for j in known.values()
        if j.pin.id == journey_id
        and j.pin.version == version
        and content_hash in (None, j.pin.hash)
    ]
    if len(matching) > 1:  # edited without a new number: the folder's file is the one meant
        matching = [j for j in matching if j.pin.hash in in_folder] or matching
    if len(matching) == 1:
        return matching[0]
    if not known:
        raise VersionNotFound(f"no journey {journey_id!r} in the journeys folder or the archive")
    listed = ", ".join(describe(j) for j in sorted(known.values(), key=lambda j: j.pin.version))
    if not matching:
        what = f"version {version}" + (f" with hash {content_hash}" if content_hash else "")
        raise VersionNotFound(f"journey {journey_id} has no {what}; known: {listed}")
    raise VersionNotFound(
        f"journey {journey_id} has {len(matching)} different definitions numbered version "
        f"{version}: name one by its hash; known: {listed}"
    )


def describe(journey: PinnedJourney) -> str:
    return f"v{journey.pin.version} ({journey.pin.hash}, {journey.source})"
