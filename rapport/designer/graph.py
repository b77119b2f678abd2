"""A journey as a graph, in the designer's words: what `journey diagram` draws.

Steps in file order, each with what it does (`send email, else sms`, `wait 3d`);
edges for the next step, each branch with its condition, an offer's answer; the
outcomes a journey can end with; steps no path reaches marked. Mermaid and SVG are
two drawings of this one graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rapport.language.advice import reachable
from rapport.language.checks import successors
from rapport.language.durations import describe_duration as duration
from rapport.language.models import (
    BranchStep,
    EndStep,
    HandoffStep,
    JourneyDefinition,
    Message,
    Notice,
    OfferPlanStep,
    OnPlan,
    SendStep,
    Step,
    WaitStep,
    WaitUntilStep,
    is_transactional,
)

# Nodes that are not steps have ids no step can have (a step id is a slug, no `:`).
START = ":start"
EXHAUSTED = "outcome:exhausted"
PLAN_ACCEPTED = "outcome:plan_accepted"
ON_A_PLAN = "on_plan"
PAID = "outcome:paid"


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # start, send, wait, branch, offer_plan, handoff, end, outcome, notice
    title: str
    lines: tuple[str, ...] = ()
    unreachable: bool = False


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str | None = None


@dataclass
class JourneyGraph:
    title: str
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    notices: list[Node] = field(default_factory=list)  # on_paid, on_partial_payment

    def node(self, node_id: str) -> Node:
        return next(n for n in self.nodes if n.id == node_id)


def journey_graph(definition: JourneyDefinition) -> JourneyGraph:
    reached = reachable(definition)
    graph = JourneyGraph(f"{definition.name} ({definition.id} v{definition.version})")
    graph.nodes.append(Node(START, "start", "start"))
    graph.edges.append(Edge(START, definition.steps[0].id))
    on_plan = definition.on_plan
    accepted = ON_A_PLAN if on_plan is not None else PLAN_ACCEPTED
    for index, step in enumerate(definition.steps):
        graph.nodes.append(_node(step, unreachable=index not in reached))
        graph.edges += _edges(definition, index)
        if isinstance(step, OfferPlanStep):
            graph.edges.append(Edge(step.id, accepted, "plan accepted"))
    if on_plan is not None:
        graph.nodes.append(_plan_node(definition, on_plan))
        misses = on_plan.broken.misses
        broken = f"broken: {misses} missed" if misses > 1 else "broken: a missed installment"
        if on_plan.broken.goto in definition.step_index():
            graph.edges.append(Edge(ON_A_PLAN, on_plan.broken.goto, broken))
        graph.edges.append(Edge(ON_A_PLAN, PAID, "paid off"))
        graph.nodes.append(Node(PAID, "outcome", "ends: paid"))
    elif any(isinstance(s, OfferPlanStep) for s in definition.steps):
        graph.nodes.append(Node(PLAN_ACCEPTED, "outcome", "ends: plan_accepted"))
    if any(edge.target == EXHAUSTED for edge in graph.edges):
        graph.nodes.append(Node(EXHAUSTED, "outcome", "ends: exhausted"))
    for key, what in (("on_paid", "payment in full"), ("on_partial_payment", "part payment")):
        notice: Notice | None = getattr(definition, key)
        if notice is not None:
            ends = ["then the journey ends: paid"] if key == "on_paid" else []
            sending = _message_lines(notice.send, on_paid=key == "on_paid")
            lines = (f"at any {what}:", *sending, *ends)
            graph.notices.append(Node(f":{key}", "notice", key, lines))
    return graph


def _plan_node(definition: JourneyDefinition, on_plan: OnPlan) -> Node:
    """The journey while the customer is on a plan: where plans come from, what is sent."""
    lines = []
    terms = definition.policy.plans
    if terms is not None:
        counts = ", ".join(str(n) for n in terms.installments)
        lines.append(f"chosen in the portal: {counts} installments, {'/'.join(terms.every)}")
        if terms.when:
            lines.append(f"  for accounts where {terms.when}")
    if on_plan.confirmation is not None:
        lines += _message_lines(on_plan.confirmation, "confirm by")
    lines += _message_lines(on_plan.reminder, f"{duration(on_plan.remind_before)} before each: by")
    if on_plan.thanks is not None:
        lines += _message_lines(on_plan.thanks, "after each payment: thank by")
    lines.append(f"grace {duration(on_plan.grace)} after each due date")
    return Node(ON_A_PLAN, "plan", "on a plan", tuple(lines))


def _node(step: Step, unreachable: bool) -> Node:
    kind, lines = _describe(step)
    if unreachable:
        lines = ("UNREACHABLE: no path leads here", *lines)
    return Node(step.id, kind, step.id, lines, unreachable)


def _describe(step: Step) -> tuple[str, tuple[str, ...]]:
    if isinstance(step, SendStep):
        when = (f"only if {step.send.when}",) if step.send.when else ()
        return "send", (*_message_lines(step.send), *when)
    if isinstance(step, WaitStep):
        return "wait", (f"wait {duration(step.wait)}",)
    if isinstance(step, WaitUntilStep):
        return "wait", (f"wait {step.wait_until.said()}",)
    if isinstance(step, BranchStep):
        return "branch", ("branch",)
    if isinstance(step, OfferPlanStep):
        offer = step.offer_plan
        counts = ", ".join(str(n) for n in offer.installments)
        return "offer_plan", (
            *_message_lines(offer, "offer a plan by"),
            f"{counts} installments of at least {offer.min_installment}",
            f"waits up to {duration(offer.respond_within)} for an answer",
        )
    if isinstance(step, HandoffStep):
        return "handoff", (f"a person takes over: queue {step.handoff.queue}",)
    if isinstance(step, EndStep):
        return "end", (f"ends: {step.end}",)
    return "step", ()


def _message_lines(message: Message, verb: str = "send", on_paid: bool = False) -> tuple[str, ...]:
    channels = message.channel + (f", else {message.fallback}" if message.fallback else "")
    lines = [f"{verb} {channels}", f"template {message.template}"]
    lines += [f"  segment {segment}: {name}" for segment, name in message.variants.items()]
    if is_transactional(message, on_paid):
        lines.append("transactional: skips min_gap and caps")
    return tuple(lines)


def _edges(definition: JourneyDefinition, index: int) -> list[Edge]:
    step = definition.steps[index]
    count = len(definition.steps)

    def target(position: int) -> str:
        return definition.steps[position].id if position < count else EXHAUSTED

    if isinstance(step, EndStep):
        return []
    if not isinstance(step, BranchStep):
        label = "no answer" if isinstance(step, OfferPlanStep) else None
        return [Edge(step.id, target(index + 1), label)]
    ids = definition.step_index()
    edges = [
        Edge(step.id, rule.goto, f"if {rule.when}" if rule.when else "always")
        for rule in step.branch
        if rule.goto in ids
    ]
    if index + 1 in successors(definition, index, ids):
        edges.append(Edge(step.id, target(index + 1), "otherwise"))
    return edges
