"""One request on one live link: what every page and every section's handler reads."""

from __future__ import annotations

from starlette.requests import Request

from rapport.contract.journey import JourneyStatus
from rapport.language.models import Policy
from rapport.store.links import Link, token_hash
from rapport.web.portal.speech import Speech


class Visit:
    def __init__(
        self,
        request: Request,
        token: str,
        link: Link,
        speech: Speech,
        signed_in: bool,
        cookie: str | None,
    ) -> None:
        self.request, self.token, self.link, self.speech = request, token, link, speech
        self.signed_in, self.cookie = signed_in, cookie
        self.digest = token_hash(token)
        self.status: JourneyStatus | None = None
        self.policy = Policy()

    @property
    def base(self) -> str:
        return f"/r/{self.token}"

    @property
    def account(self) -> str:
        return self.link.account_id


def account_reference(account_id: str) -> str:
    """What the pages after the check show of the account: its id's last four
    characters, so a customer can tell this is their account, and no more."""
    return account_id[-4:]
