"""Which accounts a phone number belongs to, stored as keyed hashes, not numbers, so an
inbound SMS reply can be traced back to its accounts."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from rapport.store.jsonl import JsonLines


class RecipientIndex:
    def __init__(self, path: Path, secret: str) -> None:
        self.secret = secret
        self.file = JsonLines(path, key=lambda e: f"{e.get('phone')}/{e.get('account')}")

    def digest(self, phone: str) -> str:
        return hmac.new(self.secret.encode(), phone.encode(), hashlib.sha256).hexdigest()

    def remember(self, phone: str, account_id: str) -> None:
        self.file.append({"phone": self.digest(phone), "account": account_id})

    def accounts(self, phone: str) -> list[str]:
        digest, found = self.digest(phone), []
        for entry in self.file.read():
            if entry.get("phone") == digest and entry.get("account") not in found:
                found.append(entry["account"])
        return found
