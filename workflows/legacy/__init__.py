"""`DelinquencyJourney` version 1, frozen: kept so that its recorded histories still replay.

Version 2 (`workflows/journey.py`) changed the shape of history (the definition is
no longer in it, one activity per message, zone rules recorded), so it is a new
workflow version rather than a patch. Journeys started on version 1 finish on
version-1 workers (Temporal's Worker Versioning pins them to the build they started
on; docs/operating.md, "Upgrading"). This package is that build's workflow, byte
for byte in behaviour, with the payloads of its histories in `models`; the replay
tests run it against `tests/workflows/histories/v1/`. Nothing registers it on a
worker. Delete it when no version-1 journey runs.
"""
