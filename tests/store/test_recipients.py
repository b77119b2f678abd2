"""The SMS recipient index lives in the store: every worker and the web app share it,
and no secret it depends on can be rotated away."""

from __future__ import annotations

from rapport.store.database import Store
from rapport.store.recipients import RecipientIndex


def test_a_number_leads_to_every_account_it_was_texted_for(store: Store) -> None:
    worker_a, worker_b = RecipientIndex(store), RecipientIndex(store)  # two hosts
    worker_a.remember("+1 (212) 555-0100", "A-1")
    worker_b.remember("+12125550100", "A-2")
    worker_b.remember("+12125550100", "A-1")  # again: one row
    web_app = RecipientIndex(store)  # a third process, started after a secret rotation
    assert web_app.accounts("+12125550100") == ["A-1", "A-2"]
    assert web_app.accounts("+19999999999") == []
    assert web_app.accounts("not a number") == []
