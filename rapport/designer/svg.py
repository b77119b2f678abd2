"""A journey graph as SVG, laid out here (no network, no Graphviz binary).

The layout reads like the file: steps top to bottom in their order, the next step
straight below; every jump (a branch, an offer's answer, a loop back) leaves its step
on the right, runs down or up a lane of its own and enters its target from the right,
its condition written where it leaves. The blocks that can run at any time sit at
the top right. Text is monospaced, so sizes are known without a font.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from rapport.designer.graph import Edge, JourneyGraph, Node

FONT = 12
CHAR = FONT * 0.6  # a monospaced character's advance
LINE = 16
PAD = 10
GAP = 30  # between two steps, room for the arrow and its label
LANE = 14  # between two jump lanes
ARRIVE = 7  # between two arrows into one step
MARGIN = 20
LABEL_MAX = 44  # characters of a condition shown on an edge (all of it in the tooltip)

_COLOURS = {
    "start": ("#ffffff", "#455a64"),
    "send": ("#eef4ff", "#3b6fd8"),
    "wait": ("#fff8e1", "#c99a06"),
    "branch": ("#f3e8ff", "#8a4fd8"),
    "offer_plan": ("#e8f7ee", "#2f9e5b"),
    "plan": ("#e8f7ee", "#1f7a44"),
    "handoff": ("#fdeef3", "#c2416f"),
    "end": ("#eceff1", "#455a64"),
    "outcome": ("#eceff1", "#455a64"),
    "notice": ("#ffffff", "#888888"),
}


@dataclass(frozen=True)
class Box:
    node: Node
    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    @property
    def middle(self) -> float:
        return self.x + self.width / 2


def svg(graph: JourneyGraph) -> str:
    order = {node.id: index for index, node in enumerate(graph.nodes)}
    jumps = [e for e in graph.edges if order[e.target] != order[e.source] + 1]
    column = _column(graph, jumps)
    rows = {box.node.id: index for index, box in enumerate(column)}
    right = max(box.right for box in column)
    gutter = max((len(_clip(e.label or "")) for e in jumps), default=0) * CHAR + 2 * PAD
    lanes = _lanes([(rows[e.source], rows[e.target]) for e in jumps])
    lanes_right = right + gutter + (max(lanes, default=-1) + 1) * LANE
    notices = _notice_boxes(graph, lanes_right + 2 * MARGIN)
    width = max([lanes_right, *[b.right for b in notices]]) + MARGIN
    height = max([column[-1].bottom, *[b.bottom for b in notices]]) + MARGIN
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="DejaVu Sans Mono, Menlo, '
        f'Consolas, monospace" font-size="{FONT}">',
        f"<title>{escape(graph.title)}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#555555"/></marker></defs>',
        f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>',
    ]
    parts += _straight_edges(graph, column, rows, jumps)
    parts += _jump_edges(jumps, column, rows, lanes, right, gutter)
    parts += [_box(box) for box in [*column, *notices]]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _size(node: Node) -> tuple[float, float]:
    longest = max(len(line) for line in [node.title, *node.lines])
    return longest * CHAR + 2 * PAD, (1 + len(node.lines)) * LINE + PAD


def _column(graph: JourneyGraph, jumps: list[Edge]) -> list[Box]:
    """The steps in order, one width; a step with jumps tall enough that each leaves on
    a line of its own (its label above it) and each arrives apart."""
    width = max(_size(node)[0] for node in graph.nodes)
    boxes: list[Box] = []
    y = float(MARGIN)
    for node in graph.nodes:
        leaving = sum(1 for e in jumps if e.source == node.id)
        entering = sum(1 for e in jumps if e.target == node.id)
        height = max(_size(node)[1], (leaving + 1) * LINE + (entering + 1) * ARRIVE)
        boxes.append(Box(node, MARGIN, y, width, height))
        y += height + GAP
    return boxes


def _notice_boxes(graph: JourneyGraph, x: float) -> list[Box]:
    boxes: list[Box] = []
    y = float(MARGIN)
    for node in graph.notices:
        width, height = _size(node)
        boxes.append(Box(node, x, y, width, height))
        y += height + GAP
    return boxes


def _lanes(spans: list[tuple[int, int]]) -> list[int]:
    """A lane for each jump, so that no two jumps whose rows overlap share one; shorter
    jumps nearer the steps."""
    order = sorted(range(len(spans)), key=lambda i: abs(spans[i][1] - spans[i][0]))
    taken: list[list[tuple[int, int]]] = []
    lanes = [0] * len(spans)
    for i in order:
        low, high = sorted(spans[i])
        lane = 0
        while lane < len(taken) and any(not (high < a or low > b) for a, b in taken[lane]):
            lane += 1
        if lane == len(taken):
            taken.append([])
        taken[lane].append((low, high))
        lanes[i] = lane
    return lanes


def _straight_edges(
    graph: JourneyGraph, column: list[Box], rows: dict[str, int], jumps: list[Edge]
) -> list[str]:
    out: list[str] = []
    for edge in graph.edges:
        if edge in jumps:
            continue
        above, below = column[rows[edge.source]], column[rows[edge.target]]
        x = above.middle
        out.append(
            f'<line x1="{x:.1f}" y1="{above.bottom:.1f}" x2="{x:.1f}" y2="{below.y:.1f}" '
            'stroke="#555555" stroke-width="1.2" marker-end="url(#arrow)"/>'
        )
        if edge.label:
            out.append(_text(x + 6, (above.bottom + below.y) / 2 + 4, edge.label, "#555555"))
    return out


def _jump_edges(
    jumps: list[Edge],
    column: list[Box],
    rows: dict[str, int],
    lanes: list[int],
    right: float,
    gutter: float,
) -> list[str]:
    out: list[str] = []
    left_so_far: dict[str, int] = {}
    entered_so_far: dict[str, int] = {}
    for edge, lane in zip(jumps, lanes, strict=True):
        source, target = column[rows[edge.source]], column[rows[edge.target]]
        out_index = left_so_far.get(edge.source, 0)
        in_index = entered_so_far.get(edge.target, 0)
        left_so_far[edge.source] = out_index + 1
        entered_so_far[edge.target] = in_index + 1
        # Leave a line apart from the top (each label above its line), arrive from the
        # bottom up, a few pixels apart: no two share a point.
        y1 = source.y + LINE * (out_index + 1) + 2
        y2 = target.bottom - ARRIVE * (in_index + 1)
        lane_x = right + gutter + lane * LANE
        out.append(
            f'<path d="M{source.right:.1f},{y1:.1f} H{lane_x:.1f} V{y2:.1f} '
            f'H{target.right:.1f}" fill="none" stroke="#555555" stroke-width="1.2" '
            'marker-end="url(#arrow)"/>'
        )
        if edge.label:
            out.append(_text(source.right + PAD / 2, y1 - 4, edge.label, "#333333"))
    return out


def _clip(text: str) -> str:
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def _text(x: float, y: float, label: str, colour: str) -> str:
    shown = _clip(label)
    title = f"<title>{escape(label)}</title>" if shown != label else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" fill="{colour}">{title}{escape(shown)}</text>'


def _box(box: Box) -> str:
    node = box.node
    fill, stroke = _COLOURS.get(node.kind, ("#ffffff", "#555555"))
    text_colour = "#222222"
    dash = ""
    if node.unreachable:
        fill, stroke, text_colour, dash = "#f5f5f5", "#b0b0b0", "#888888", ' stroke-dasharray="5 4"'
    if node.kind == "notice":
        dash = ' stroke-dasharray="3 3"'
    shape = _shape(box, fill, stroke, dash)
    lines = []
    for i, line in enumerate([node.title, *node.lines]):
        weight = ' font-weight="bold"' if i == 0 else ""
        y = box.y + PAD / 2 + LINE * (i + 1) - 4
        lines.append(
            f'<text x="{box.x + PAD:.1f}" y="{y:.1f}" fill="{text_colour}"{weight}>'
            f"{escape(line)}</text>"
        )
    return f'<g class="{node.kind}">' + shape + "".join(lines) + "</g>"


def _shape(box: Box, fill: str, stroke: str, dash: str) -> str:
    x, y, w, h = box.x, box.y, box.width, box.height
    style = f'fill="{fill}" stroke="{stroke}" stroke-width="1.5"{dash}'
    kind = box.node.kind
    if kind == "branch":
        cut = min(12.0, h / 2)
        points = (
            f"{x + cut:.1f},{y:.1f} {x + w - cut:.1f},{y:.1f} {x + w:.1f},{y + h / 2:.1f} "
            f"{x + w - cut:.1f},{y + h:.1f} {x + cut:.1f},{y + h:.1f} {x:.1f},{y + h / 2:.1f}"
        )
        return f'<polygon points="{points}" {style}/>'
    radius = {"send": 8.0, "offer_plan": 8.0, "end": h / 2, "outcome": h / 2, "start": h / 2}
    rx = radius.get(kind, 0.0)
    rect = f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx:.1f}" {style}/>'
    if kind == "handoff":  # a person: a card with a band
        rect += (
            f'<line x1="{x + 6:.1f}" y1="{y:.1f}" x2="{x + 6:.1f}" y2="{y + h:.1f}" '
            f'stroke="{stroke}" stroke-width="1.5"/>'
        )
    return rect
