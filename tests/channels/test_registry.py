"""A channel is one module: everything else reads the registry."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter

from rapport.channels import CHANNELS
from rapport.contract.schemas import schema
from rapport.language.samples import sample_account
from rapport.language.types import Channel
from rapport.runtime.settings import Settings


@pytest.mark.parametrize("name", list(CHANNELS))
def test_every_channel_reaches_language_settings_and_schema(name: str) -> None:
    assert TypeAdapter(Channel).validate_python(name) == name
    assert Settings().adapter_for(name) == "outbox"  # RAPPORT_CHANNEL_<NAME> exists
    account = sample_account()
    assert account.consent[name] is True
    links = {"opt_out": "https://x/u", "contact_us": "https://x/c"}
    assert CHANNELS[name].opt_out_text(links)
    enum = schema("journey-definition")["$defs"]["SendAction"]["properties"]["channel"]["enum"]
    assert name in enum


def test_an_unknown_channel_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="'fax' is not allowed: 'email', 'sms'"):
        TypeAdapter(Channel).validate_python("fax")
