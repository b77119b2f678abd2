"""Message templates: `NAME.CHANNEL.j2`, rendered in a Jinja2 sandbox.

A template may have a version per language, `NAME.LANG.CHANNEL.j2` (`reminder.es.sms.j2`),
chosen when the customer's locale is in that language (`es-MX`, `es`); every other
customer gets `NAME.CHANNEL.j2`. Which file a message uses is a pure function of the
template's name, the channel and the customer's locale (`TemplateBundle.file_for`).

Undefined names are errors, so `{{ customer.nickname }}` fails loudly
instead of sending "Hi ," to a customer. An email's first line is
`Subject: ...`, then a blank line, then the body.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any

import jinja2
from jinja2 import (
    FunctionLoader,
    Template,
    TemplateError,
    TemplateNotFound,
    meta,
    nodes,
)
from jinja2 import TemplateSyntaxError as _SyntaxError
from jinja2 import filters as jinja_filters

from rapport.language.problems import did_you_mean
from rapport.language.sandbox import (
    FILTERS,
    BoundedSandbox,
    RenderTimeout,
    render_within,
    static_chain,
    unknown_names,
)
from rapport.language.types import Channel

SUFFIX = ".j2"
NAMES = (
    "account",
    "customer",
    "balance",
    "minimum_due",
    "links",
    "plan",
    "opt_out",
    "payment",
    "journey",
)
MAX_TEMPLATE = 20_000  # characters of one template's source


def template_file(name: str, channel: str, language: str | None = None) -> str:
    """`reminder.sms.j2`, or with a language `reminder.es.sms.j2`."""
    return f"{name}.{language}.{channel}{SUFFIX}" if language else f"{name}.{channel}{SUFFIX}"


def language_of(locale: str | None) -> str | None:
    """The language of a locale as template files name it: `es-MX` -> `es`."""
    if not locale:
        return None
    return locale.replace("_", "-").split("-")[0].lower() or None


def split_file_name(file: str) -> tuple[str, str | None, str] | None:
    """(name, language or None, channel) of a template file name, or None for another
    file (an include such as `footer.j2`)."""
    parts = file.removesuffix(SUFFIX).split(".")
    if not file.endswith(SUFFIX) or len(parts) not in (2, 3):
        return None
    if len(parts) == 2:
        return parts[0], None, parts[1]
    return parts[0], parts[1], parts[2]


@dataclass(frozen=True)
class RenderedMessage:
    subject: str | None
    body: str


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
        """Whether the default file (any customer's language) exists."""
        return template_file(name, channel) in self.sources

    def file_for(self, name: str, channel: str, locale: str | None) -> str:
        """The file a message uses: the customer's language's version if there is one,
        else the default `NAME.CHANNEL.j2`."""
        language = language_of(locale)
        if language is not None:
            localized = template_file(name, channel, language)
            if localized in self.sources:
                return localized
        return template_file(name, channel)

    def languages(self, name: str, channel: str) -> list[str]:
        """The languages `name` has its own version in, on `channel`."""
        found = []
        for file in self.sources:
            parts = split_file_name(file)
            if parts is not None and parts[0] == name and parts[2] == channel and parts[1]:
                found.append(parts[1])
        return sorted(found)

    def with_languages(self, name: str, channel: str) -> list[str]:
        """The default file of `name` on `channel` and every language's version of it."""
        return [template_file(name, channel)] + [
            template_file(name, channel, language) for language in self.languages(name, channel)
        ]

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
                queue.extend(
                    n
                    for n in meta.find_referenced_templates(self._env.parse(self.sources[name]))
                    if n
                )
            except _SyntaxError:
                continue
        return TemplateBundle(wanted)

    @cached_property
    def _env(self) -> BoundedSandbox:
        def load(name: str) -> tuple[str, str, Any] | None:
            source = self.sources.get(name)
            return None if source is None else (source, name, lambda: True)

        return BoundedSandbox(
            loader=FunctionLoader(load), autoescape=False, keep_trailing_newline=False
        )

    def compile(self, file: str) -> Template:
        try:
            return self._env.get_template(file)  # Jinja caches it in the environment
        except _SyntaxError as exc:
            raise TemplateProblem(
                exc.name or file, exc.lineno, _plain_syntax(exc.message or "syntax error")
            ) from None
        except TemplateNotFound as exc:
            raise TemplateProblem(file, 1, f"template {exc.name} does not exist") from None

    def parse(self, file: str) -> nodes.Template:
        """The template's syntax tree; TemplateProblem when it does not compile."""
        return _parsed(self._env, self.sources[file], file)

    def unknown_names(self, file: str) -> list[tuple[str, int]]:
        """Names a template reads that no message provides, with their lines (found even
        when the template also uses a filter or test that does not exist: `not_allowed`
        names those)."""
        source = self.sources[file]
        ast = self.parse(file)
        tolerant = self._env.overlay()
        tolerant.filters = {**self._env.filters}
        tolerant.tests = {**self._env.tests}
        for node in ast.find_all(nodes.Filter):
            tolerant.filters.setdefault(node.name, _anything)
        for test in ast.find_all(nodes.Test):
            tolerant.tests.setdefault(test.name, _anything)
        ast = _parsed(tolerant, source, file)
        unknown = meta.find_undeclared_variables(ast) - set(NAMES) - {"range"}
        return sorted(
            (node.name, node.lineno)
            for node in ast.find_all(nodes.Name)
            if node.name in unknown and node.ctx == "load"
        )

    def not_allowed(self, file: str) -> list[tuple[str, int]]:
        """(message, line) for each filter, test and method outside the sandbox's
        allowlists (each bounded), and a template too long: refused for every account
        alike. A misspelt filter gets a "did you mean"."""
        source = self.sources[file]
        if len(source) > MAX_TEMPLATE:
            return [(f"a template of more than {MAX_TEMPLATE} characters is not allowed", 1)]
        ast = self.parse(file)
        found = []
        for what, line in unknown_names(ast):
            filter_name = re.fullmatch(r"filter '(.*)'", what)
            if filter_name and filter_name.group(1) not in jinja_filters.FILTERS:
                name = filter_name.group(1)
                found.append((f"no filter named {name!r}{did_you_mean(name, FILTERS)}", line))
            else:
                found.append((f"{what} is not allowed in a template (see the docs)", line))
        return found

    def opt_out_in_every_branch(self, file: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether `file` outputs `{{ opt_out }}` whatever the data: at its top level (or
        in a template it includes at its top level), not inside an `{% if %}`, a loop or a
        macro, where some branch could leave it out."""
        source = self.sources.get(file)
        if source is None or file in seen:
            return False
        try:
            ast = self._env.parse(source, name=file, filename=file)
        except _SyntaxError:
            return False
        for node in ast.body:
            if isinstance(node, nodes.Output) and any(
                name.name == "opt_out" for name in node.find_all(nodes.Name)
            ):
                return True
            if (
                isinstance(node, nodes.Include)
                and isinstance(node.template, nodes.Const)
                and self.opt_out_in_every_branch(str(node.template.value), seen | {file})
            ):
                return True
        return False

    def reads(self, file: str, name: str) -> bool:
        """Whether `file` (its versions in every language, and what they include) reads
        the name `name` (`journey`): a send carries the journey's facts only then."""
        sources = self._sources_in_every_language(file)
        for each, source in sources.items():
            try:
                ast = self._env.parse(source, name=each, filename=each)
            except _SyntaxError:
                return True  # cannot tell: carry it
            if any(n.name == name and n.ctx == "load" for n in ast.find_all(nodes.Name)):
                return True
        return False

    def _sources_in_every_language(self, file: str) -> dict[str, str]:
        """`file`'s source and what it includes; for a default file (`reminder.sms.j2`)
        those of its versions in every language too."""
        parts = split_file_name(file)
        files = [file]
        if parts is not None and parts[1] is None:
            files = self.with_languages(parts[0], parts[2])
        sources: dict[str, str] = {}
        for each in files:
            sources.update(self.subset(each).sources)
        return sources

    def account_fields(self, file: str) -> frozenset[FieldPath] | None:
        """The account fields `file` (and what it includes) reads, as paths such as
        ('customer', 'first_name'); None when it reads the account as a whole or by a
        computed key. A send then carries these fields only, not the whole account.
        For a default file (`reminder.sms.j2`) this covers its versions in every
        language too: the workflow asks by the default file, the activity picks the
        customer's language's version, and the send must carry what either reads."""
        found: set[FieldPath] = set()
        sources = self._sources_in_every_language(file)
        for name, source in sources.items():
            try:
                ast = self._env.parse(source, name=name, filename=name)
            except _SyntaxError:
                return None
            fields = _account_fields(ast)
            if fields is None:
                return None
            found |= fields
        return frozenset(found)

    def render(
        self,
        name: str,
        channel: Channel,
        context: Mapping[str, Any],
        locale: str | None = None,
    ) -> RenderedMessage:
        """Render `name` on `channel` in the version for `locale`'s language (or the
        default file when that language has none)."""
        return self.render_file(self.file_for(name, channel, locale), channel, context)

    def render_file(
        self, file: str, channel: Channel, context: Mapping[str, Any]
    ) -> RenderedMessage:
        template = self.compile(file)
        try:
            text = render_within(lambda: template.render(**context))
        except RenderTimeout as exc:
            raise TemplateProblem(file, 1, f"{exc}: look for loops over long lists") from None
        except TemplateError as exc:
            raise TemplateProblem(*_template_position(exc, file), _describe(exc)) from None
        except Exception as exc:  # a designer's template is data: never a traceback
            raise TemplateProblem(*_template_position(exc, file), _failure(exc)) from None
        return split_message(text, channel, file)

    def include_problems(self, file: str) -> list[tuple[int, str]]:
        """(line, message) for each `{% include %}`, `{% import %}` or `{% extends %}` of
        `file` that names no template in the folder, names it by a computed value, or
        leads back to `file` (a template that includes itself never ends)."""
        found: list[tuple[int, str]] = []
        for node, name in self._references(file):
            if name is None:
                found.append(
                    (
                        node.lineno,
                        "include a template by its name in quotes, e.g. "
                        "{% include 'footer.j2' %}, not by a value",
                    )
                )
            elif name not in self.sources:
                hint = did_you_mean(name, self.sources) or (
                    ": name a file of templates/, e.g. 'footer.j2'"
                )
                found.append((node.lineno, f"includes {name!r}, which is not in templates/{hint}"))
            else:
                loop = self._path_back(name, file)
                if loop is not None:
                    chain = " -> ".join([file, *loop])
                    found.append((node.lineno, f"includes itself ({chain}): it would never end"))
        return found

    def _references(self, file: str) -> list[tuple[nodes.Node, str | None]]:
        """The include, import and extends nodes of `file`, each with the name it uses
        (None when it is computed)."""
        try:
            ast = self.parse(file)
        except TemplateProblem:
            return []
        found: list[tuple[nodes.Node, str | None]] = []
        for node in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
            template = getattr(node, "template", None)
            name = (
                template.value
                if isinstance(template, nodes.Const) and isinstance(template.value, str)
                else None
            )
            found.append((node, name))
        return found

    def _path_back(self, start: str, goal: str) -> list[str] | None:
        """The templates from `start` back to `goal` through their includes, or None."""
        stack: list[tuple[str, list[str]]] = [(start, [start])]
        seen: set[str] = set()
        while stack:
            name, path = stack.pop()
            if name == goal:
                return path
            if name in seen or name not in self.sources:
                continue
            seen.add(name)
            stack += [(n, [*path, n]) for _, n in self._references(name) if n is not None]
        return None


def _anything(*args: Any, **kwargs: Any) -> Any:
    """Stands for a filter or test that does not exist while a template's names are read."""
    return None


FieldPath = tuple[str, ...]
_ROOTS = {"account": (), "customer": ("customer",)}
_FREE_FORM = ("attributes", "consent")  # mappings: read whole, whatever key a template uses
_NESTED = ("customer", "history")


def _account_fields(ast: nodes.Template) -> set[FieldPath] | None:
    rooted: set[int] = set()
    inner: set[int] = set()
    found: set[FieldPath] = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        if id(node) in inner:
            continue  # part of a longer chain, already read
        root, chain = static_chain(node, inner)
        if root is None or root.name not in _ROOTS:
            continue
        rooted.add(id(root))
        path = _field_path(_ROOTS[root.name] + tuple(chain))
        if not path:
            return None  # read by a computed key
        found.add(path)
    for name in ast.find_all(nodes.Name):
        if name.name in _ROOTS and name.ctx == "load" and id(name) not in rooted:
            return None  # the whole account (or customer), or a computed key
    return found


def _field_path(path: FieldPath) -> FieldPath:
    """The account field a chain reads: `customer.first_name.upper` reads customer.first_name;
    anything under attributes reads all attributes."""
    if not path:
        return ()
    if path[0] in _FREE_FORM or path[0] not in _NESTED:
        return path[:1]
    return path[:2]


def project(account: Mapping[str, Any], paths: frozenset[FieldPath]) -> dict[str, Any]:
    """Only `paths` of an account (as a dict): what a send carries."""
    kept: dict[str, Any] = {}
    for path in sorted(paths):
        if not path or path[0] not in account:
            continue
        source, target = account, kept
        for part in path[:-1]:
            source = source.get(part) or {}
            target = target.setdefault(part, {})
        if path[-1] in source:
            target[path[-1]] = source[path[-1]]
    return kept


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


_NO_ATTRIBUTE = re.compile(r"^'(\w+) object' has no attribute '([^']*)'$")
_UNDEFINED = re.compile(r"^'([^']*)' is undefined$")
_EMPTY = re.compile(r"^'None' has no attribute '([^']*)'$")
_KINDS = {"dict": "this group of values", "str": "a text", "int": "a number", "list": "a list"}


def _failure(exc: Exception) -> str:
    """What Python says when a render fails, in a designer's words (never its name for the
    error: `ZeroDivisionError` means nothing to the person who wrote the template)."""
    if isinstance(exc, ZeroDivisionError):
        return "divides by zero for this account: check the divisor first ({% if ... %})"
    if isinstance(exc, RecursionError):
        return "includes or calls itself without end"
    if isinstance(exc, OverflowError):
        return "makes a number too large to write"
    return f"cannot be rendered for this account: {exc}"


def _describe(exc: TemplateError) -> str:
    """Jinja's words for an error, in a designer's: "'dict object' has no attribute
    'pay_online'" is "there is no 'pay_online' here"."""
    if isinstance(exc, TemplateNotFound):
        return f"includes {exc.name!r}, which is not in templates/"
    message = exc.message or type(exc).__name__
    if type(exc).__name__ == "UndefinedError":
        missing = _NO_ATTRIBUTE.match(message)
        if missing:
            kind = _KINDS.get(missing.group(1), "this value")
            return f"undefined name: {kind} has no {missing.group(2)!r}"
        unknown = _UNDEFINED.match(message)
        if unknown:
            return f"undefined name: {unknown.group(1)!r} does not exist here"
        empty = _EMPTY.match(message)
        if empty:
            return f"undefined name: an empty value has no {empty.group(1)!r}"
        return f"undefined name: {message}"
    if type(exc).__name__ == "SecurityError":
        return f"not allowed in a template: {message}"
    return _plain_syntax(message)


def _plain_syntax(message: str) -> str:
    """Jinja names the `{{ }}` around an expression 'print statement'."""
    return message.replace("end of print statement", "the closing }}")


def _parsed(env: jinja2.Environment, source: str, file: str) -> nodes.Template:
    """`source`'s syntax tree in `env`; TemplateProblem, in plain words, when it does not
    compile."""
    try:
        return env.parse(source, name=file, filename=file)
    except _SyntaxError as exc:
        raise TemplateProblem(
            file, exc.lineno, _plain_syntax(exc.message or "syntax error")
        ) from None
