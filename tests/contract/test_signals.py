"""A signal is one table row plus its effect: everything else reads the table."""

from __future__ import annotations

import pytest

from rapport.contract.schemas import SCHEMAS
from rapport.contract.signals import SIGNALS
from workflows.journey import DelinquencyJourney
from workflows.state import JourneyState


@pytest.mark.parametrize("name", list(SIGNALS))
def test_every_signal_has_a_handler_an_effect_and_a_schema(name: str) -> None:
    handler = getattr(DelinquencyJourney, name)
    assert handler.__temporal_signal_definition.name == name
    assert callable(getattr(JourneyState, f"on_{name}"))
    assert SIGNALS[name].schema in SCHEMAS
