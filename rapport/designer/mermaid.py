"""A journey graph as Mermaid (`flowchart TD`): GitHub and most Markdown viewers draw it."""

from __future__ import annotations

import re
from collections.abc import Callable

from rapport.designer.graph import JourneyGraph, Node

_SHAPES = {
    "start": ('(["', '"])'),
    "send": ('("', '")'),
    "wait": ('["', '"]'),
    "branch": ('{"', '"}'),
    "offer_plan": ('("', '")'),
    "plan": ('[/"', '"/]'),
    "handoff": ('[["', '"]]'),
    "end": ('(["', '"])'),
    "outcome": ('(["', '"])'),
    "notice": ('["', '"]'),
}
_CLASSES = {
    "start": "fill:#ffffff,stroke:#455a64",
    "send": "fill:#eef4ff,stroke:#3b6fd8",
    "wait": "fill:#fff8e1,stroke:#c99a06",
    "branch": "fill:#f3e8ff,stroke:#8a4fd8",
    "offer_plan": "fill:#e8f7ee,stroke:#2f9e5b",
    "plan": "fill:#e8f7ee,stroke:#2f9e5b,stroke-width:2px",
    "handoff": "fill:#fdeef3,stroke:#c2416f",
    "finish": "fill:#eceff1,stroke:#455a64",
    "outcome": "fill:#eceff1,stroke:#455a64",
    "notice": "fill:#ffffff,stroke:#999999,stroke-dasharray:3 3",
    "unreachable": "fill:#f5f5f5,stroke:#b0b0b0,stroke-dasharray:5 5,color:#888888",
}


def mermaid(graph: JourneyGraph) -> str:
    _id = _ids(graph)
    lines = [f"%% {_one_line(graph.title)}", "flowchart TD"]
    for node in graph.nodes:
        lines.append(f"  {_id(node.id)}{_shape(node)}")
    for edge in graph.edges:
        arrow = "-->" if not edge.label else f'-->|"{_text(edge.label)}"|'
        lines.append(f"  {_id(edge.source)} {arrow} {_id(edge.target)}")
    if graph.notices:
        lines.append('  subgraph anytime ["at any time"]')
        lines += [f"    {_id(node.id)}{_shape(node)}" for node in graph.notices]
        lines.append("  end")
    for kind, style in _CLASSES.items():
        lines.append(f"  classDef {kind} {style}")
    for node in [*graph.nodes, *graph.notices]:
        lines.append(f"  class {_id(node.id)} {_class(node)}")
    return "\n".join(lines) + "\n"


def _class(node: Node) -> str:
    if node.unreachable:
        return "unreachable"
    return "finish" if node.kind == "end" else node.kind  # `end` is Mermaid's own word


def _shape(node: Node) -> str:
    opening, closing = _SHAPES.get(node.kind, ('["', '"]'))
    text = "<br/>".join(_text(line) for line in [f"<b>{node.title}</b>", *node.lines])
    return f"{opening}{text}{closing}"


def _ids(graph: JourneyGraph) -> Callable[[str], str]:
    """Mermaid's id of each node: `n_` and the step id in letters, digits and `_` (a `-`
    becomes `_`), numbered when two would read the same (`a-b` and `a_b`; a step named
    `start` beside the start)."""
    given: dict[str, str] = {}
    taken: set[str] = set()
    for node in [*graph.nodes, *graph.notices]:
        base = "n_" + re.sub(r"[^A-Za-z0-9_]", "_", node.id.lstrip(":"))
        name, number = base, 1
        while name in taken:
            number += 1
            name = f"{base}_{number}"
        given[node.id] = name
        taken.add(name)
    return lambda node_id: given[node_id]


def _one_line(text: str) -> str:
    """A line break in a name would end a Mermaid comment or label, and what follows
    would be read as Mermaid (a `click` that opens a link)."""
    return re.sub(r"[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]+", " ", text)


def _text(text: str) -> str:
    """Mermaid's entity codes for what would end a label or read as markup (but our own
    bold title)."""
    if text.startswith("<b>") and text.endswith("</b>"):
        return f"<b>{_text(text[3:-4])}</b>"
    text = _one_line(text)
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text
