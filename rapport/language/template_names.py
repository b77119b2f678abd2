"""The dotted names a template reads, checked before it is rendered: `links.pay_online`
is "links has no 'pay_online'; did you mean 'pay_now'?", on its own line, for every
branch of the template (a render with one sample account sees only one branch)."""

from __future__ import annotations

from collections.abc import Iterator

from jinja2 import nodes

from rapport.language.account import Customer
from rapport.language.context import LINK_NAMES
from rapport.language.expressions import JOURNEY_FIELDS
from rapport.language.names import account_problem, listed_problem
from rapport.language.sandbox import static_chain
from rapport.language.templates import TemplateBundle

TEMPLATE_LINKS = tuple(name for name in LINK_NAMES if name != "opt_out")
# An offer's `plan` (options, first_due) and the plan a customer is on (`on_plan`).
PLAN_NAMES = ("options", "first_due", "installments", "next", "count", "every", "total", "left")


def template_field_problems(bundle: TemplateBundle, file: str) -> Iterator[tuple[int, str]]:
    """(line, message) for each chain under account, customer, links, plan or journey
    that names something those do not have. A name the template assigns itself is its
    own."""
    ast = bundle.parse(file)
    assigned = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    inner: set[int] = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in inner:
            continue
        root, chain = static_chain(node, inner)
        if root is None or not chain or root.name in assigned:
            continue
        problem = _problem([root.name, *chain])
        if problem is not None:
            yield node.lineno, problem


def _problem(path: list[str]) -> str | None:
    root = path[0]
    if root == "account":
        return account_problem(path, values_end=False)
    if root == "customer":
        return account_problem(path, Customer, values_end=False)
    if root == "links":
        return listed_problem(path, TEMPLATE_LINKS)
    if root == "plan":
        return listed_problem(path, PLAN_NAMES)
    if root == "journey":
        return listed_problem(path, JOURNEY_FIELDS)
    return None
