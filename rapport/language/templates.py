"""Message templates: `NAME.CHANNEL.j2`, rendered in a Jinja2 sandbox.

Undefined names are errors, so `{{ customer.nickname }}` fails loudly
instead of sending "Hi ," to a customer. An email's first line is
`Subject: ...`, then a blank line, then the body.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

from jinja2 import (
    FunctionLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    meta,
    nodes,
)
from jinja2 import TemplateSyntaxError as _SyntaxError
from jinja2.sandbox import SandboxedEnvironment

from rapport.language.types import Channel

SUFFIX = ".j2"
NAMES = ("account", "customer", "balance", "minimum_due", "links", "plan", "opt_out")


def template_file(name: str, channel: str) -> str:
    return f"{name}.{channel}{SUFFIX}"


@dataclass(frozen=True)
class RenderedMessage:
    subject: str | None
    body: str

    @property
    def first_line(self) -> str:
        return self.subject or next((ln for ln in self.body.splitlines() if ln.strip()), "")


class TemplateProblem(ValueError):
    """A template that cannot be compiled or rendered, with the file and line."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: {message}")
        self.file = file
        self.line = line
        self.message = message


def bundle_of(sources: Mapping[str, str]) -> TemplateBundle:
    """A bundle for these sources, compiled templates included, shared by every message
    that uses the same ones (compiling a template costs far more than rendering it)."""
    return _cached_bundle(tuple(sorted(sources.items())))


@lru_cache(maxsize=256)
def _cached_bundle(items: tuple[tuple[str, str], ...]) -> TemplateBundle:
    return TemplateBundle(dict(items))


@dataclass(frozen=True)
class TemplateBundle:
    """The templates of one journey, by file name (`reminder.email.j2`)."""

    sources: Mapping[str, str] = field(default_factory=dict)

    def has(self, name: str, channel: str) -> bool:
        return template_file(name, channel) in self.sources

    def restricted_to(self, files: set[str]) -> TemplateBundle:
        """The templates in `files` and all they include: what a journey's snapshot keeps."""
        kept: dict[str, str] = {}
        for file in sorted(files):
            kept.update(self.subset(file).sources)
        return TemplateBundle(kept)

    def subset(self, file: str) -> TemplateBundle:
        """`file` and every template it includes or extends, for an activity's input."""
        wanted, queue = {}, [file]
        while queue:
            name = queue.pop()
            if name in wanted or name not in self.sources:
                continue
            wanted[name] = self.sources[name]
            try:
                queue.extend(n for n in meta.find_referenced_templates(self._env.parse(
                    self.sources[name])) if n)
            except _SyntaxError:
                continue
        return TemplateBundle(wanted)

    @cached_property
    def _env(self) -> SandboxedEnvironment:
        def load(name: str) -> tuple[str, str, Any] | None:
            source = self.sources.get(name)
            return None if source is None else (source, name, lambda: True)

        return SandboxedEnvironment(
            loader=FunctionLoader(load),
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
        )

    def compile(self, file: str) -> Template:
        try:
            return self._env.get_template(file)  # Jinja caches it in the environment
        except _SyntaxError as exc:
            raise TemplateProblem(exc.name or file, exc.lineno, exc.message or "syntax error") \
                from None
        except TemplateNotFound as exc:
            raise TemplateProblem(file, 1, f"template {exc.name} does not exist") from None

    def unknown_names(self, file: str) -> list[tuple[str, int]]:
        """Names a template reads that no message provides, with their lines."""
        try:
            ast = self._env.parse(self.sources[file], name=file, filename=file)
        except _SyntaxError as exc:
            raise TemplateProblem(file, exc.lineno, exc.message or "syntax error") from None
        unknown = meta.find_undeclared_variables(ast) - set(NAMES)
        return sorted(
            (node.name, node.lineno) for node in ast.find_all(nodes.Name)
            if node.name in unknown and node.ctx == "load"
        )

    def render(self, name: str, channel: Channel, context: Mapping[str, Any]) -> RenderedMessage:
        file = template_file(name, channel)
        template = self.compile(file)
        try:
            text = template.render(**context)
        except TemplateError as exc:
            raise TemplateProblem(*_template_position(exc, file), _describe(exc)) from None
        except Exception as exc:  # a designer's template is data: never a traceback
            raise TemplateProblem(*_template_position(exc, file), f"{type(exc).__name__}: {exc}") \
                from None
        return split_message(text, channel, file)


def split_message(text: str, channel: str, file: str) -> RenderedMessage:
    if channel != "email":
        return RenderedMessage(None, text.strip())
    first, _, rest = text.lstrip("\n").partition("\n")
    if not first.startswith("Subject:"):
        raise TemplateProblem(file, 1, "an email template starts with 'Subject: ...'")
    return RenderedMessage(first.removeprefix("Subject:").strip(), rest.strip("\n"))


def _template_position(exc: BaseException, file: str) -> tuple[str, int]:
    """The deepest template frame in the traceback: Jinja maps it to the template line."""
    found = (file, 1)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(SUFFIX) and frame.lineno is not None:
            found = (frame.filename, frame.lineno)
    return found


def _describe(exc: TemplateError) -> str:
    message = exc.message or type(exc).__name__
    if type(exc).__name__ == "UndefinedError":
        return f"undefined name: {message}"
    if type(exc).__name__ == "SecurityError":
        return f"not allowed in a template: {message}"
    return message
