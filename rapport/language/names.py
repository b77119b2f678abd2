"""Whether a dotted name a designer wrote exists: `account.history.tenure_months`,
`journey.messages_sent`, `links.pay_now`; if not, what is there and what was meant.

Shared by expressions (`when:`) and templates, so both say the same thing about the
same mistake.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel

from rapport.language.account import Account
from rapport.language.problems import did_you_mean

FREE_FORM = ("attributes", "consent")  # the account's own mappings: any key


def listed_problem(path: Sequence[str], names: Sequence[str]) -> str | None:
    """`journey.mesages_sent` against journey's names."""
    root, rest = path[0], path[1:]
    if not rest or rest[0] in names:
        return None
    return _missing(root, rest[0], names)


def account_problem(
    path: Sequence[str], root: type[BaseModel] = Account, values_end: bool = True
) -> str | None:
    """A chain under the account (`account.histroy`), or under one of its parts when
    `root` is that part's model (`customer.nickname`). `values_end`: nothing may be read
    from a plain value (`account.balance.cents`), as in expressions; templates may call
    a text's own methods (`customer.first_name.title()`)."""
    walked = [path[0]]
    model: type[BaseModel] | None = root
    for part in path[1:]:
        if part.startswith("_"):
            return f"private names such as {'.'.join(path)} are not allowed"
        if model is None:
            return f"{'.'.join(walked)} has no {part!r}" if values_end else None
        fields = model.model_fields
        if part not in fields:
            return _missing(".".join(walked), part, list(fields))
        if part in FREE_FORM:
            return None
        annotation = fields[part].annotation
        model = (
            annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel)
            else None
        )
        walked.append(part)
    return None


def _missing(owner: str, name: str, names: Sequence[str]) -> str:
    hint = did_you_mean(name, names)
    if hint:
        return f"{owner} has no {name!r}{hint}"
    return f"{owner} has no {name!r}; it has {', '.join(names)}"
