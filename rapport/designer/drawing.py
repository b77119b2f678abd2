"""One entry for `journey diagram`: a definition drawn as Mermaid or SVG."""

from __future__ import annotations

from rapport.designer.graph import journey_graph
from rapport.designer.mermaid import mermaid
from rapport.designer.svg import svg
from rapport.language.models import JourneyDefinition

FORMATS = {"mermaid": mermaid, "svg": svg}


def draw(definition: JourneyDefinition, kind: str) -> str:
    return FORMATS[kind](journey_graph(definition))
