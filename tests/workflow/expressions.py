"""GitHub Actions expressions (``${{ ... }}`` and ``if:``), evaluated as the runner does:
contexts, property access, literals, comparison with GitHub's loose typing (strings
compared without case, mixed types as numbers), ``!``, ``&&``, ``||`` returning
operands, and the functions a workflow calls. Anything else is an error, never a guess.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>'(?:[^']|'')*')"
    r"|(?P<op>==|!=|<=|>=|&&|\|\||[<>!().,\[\]*])|(?P<name>[A-Za-z_][A-Za-z0-9_-]*))"
)


class ExpressionError(Exception):
    pass


def tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot read expression {text!r} at {text[pos:]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def to_string(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (dict, list)):
        return json.dumps(value, indent=2)
    return str(value)


def truthy(value: Any) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value not in (None, False, 0, "")


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.lower() == b.lower()
    if type(a) is type(b) and not isinstance(a, (int, float)):
        return bool(a == b) if not isinstance(a, (dict, list)) else a is b
    return _number(a) == _number(b)


class Evaluator:
    def __init__(self, contexts: dict[str, Any], status: dict[str, Callable[[], bool]]) -> None:
        self.contexts = contexts
        self.functions: dict[str, Callable[..., Any]] = {
            "fromjson": lambda s: json.loads(to_string(s)),
            "tojson": lambda v: json.dumps(v, indent=2),
            "contains": self._contains,
            "startswith": lambda a, b: to_string(a).lower().startswith(to_string(b).lower()),
            "endswith": lambda a, b: to_string(a).lower().endswith(to_string(b).lower()),
            "format": self._format,
            "join": lambda a, sep=",": (
                to_string(sep).join(to_string(x) for x in a)
                if isinstance(a, list)
                else to_string(a)
            ),
            **{name: (lambda f=f: f()) for name, f in status.items()},
        }

    @staticmethod
    def _contains(haystack: Any, needle: Any) -> bool:
        if isinstance(haystack, list):
            return any(_equal(item, needle) for item in haystack)
        return to_string(needle).lower() in to_string(haystack).lower()

    @staticmethod
    def _format(template: Any, *args: Any) -> str:
        text = to_string(template)
        for i, arg in enumerate(args):
            text = text.replace("{" + str(i) + "}", to_string(arg))
        return text

    def evaluate(self, text: str) -> Any:
        self.toks = tokens(text)
        self.pos = 0
        self.text = text
        value = self._or()
        if self.pos != len(self.toks):
            raise ExpressionError(f"{text!r}: unexpected {self.toks[self.pos][1]!r}")
        return value

    def uses_status(self, text: str) -> bool:
        names = {v.lower() for k, v in tokens(text) if k == "name"}
        return bool(names & {"success", "failure", "always", "cancelled"})

    def _peek(self) -> str | None:
        return self.toks[self.pos][1] if self.pos < len(self.toks) else None

    def _take(self, want: str | None = None) -> tuple[str, str]:
        if self.pos >= len(self.toks):
            raise ExpressionError(f"{self.text!r}: ends too early")
        tok = self.toks[self.pos]
        if want is not None and tok[1] != want:
            raise ExpressionError(f"{self.text!r}: expected {want!r}, got {tok[1]!r}")
        self.pos += 1
        return tok

    def _or(self) -> Any:
        left = self._and()
        while self._peek() == "||":
            self._take()
            right = self._and()
            left = left if truthy(left) else right
        return left

    def _and(self) -> Any:
        left = self._compare()
        while self._peek() == "&&":
            self._take()
            right = self._compare()
            left = right if truthy(left) else left
        return left

    def _compare(self) -> Any:
        left = self._unary()
        while self._peek() in ("==", "!=", "<", ">", "<=", ">="):
            op = self._take()[1]
            right = self._unary()
            if op == "==":
                left = _equal(left, right)
            elif op == "!=":
                left = not _equal(left, right)
            else:
                a, b = _number(left), _number(right)
                left = {"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op]
        return left

    def _unary(self) -> Any:
        if self._peek() == "!":
            self._take()
            return not truthy(self._unary())
        return self._postfix(self._primary())

    def _primary(self) -> Any:
        kind, value = self._take()
        if kind == "num":
            return float(value)
        if kind == "str":
            return value[1:-1].replace("''", "'")
        if value == "(":
            inner = self._or()
            self._take(")")
            return inner
        if kind != "name":
            raise ExpressionError(f"{self.text!r}: unexpected {value!r}")
        low = value.lower()
        if low in ("true", "false"):
            return low == "true"
        if low == "null":
            return None
        if self._peek() == "(":
            self._take()
            args = []
            while self._peek() != ")":
                args.append(self._or())
                if self._peek() == ",":
                    self._take()
            self._take(")")
            if low not in self.functions:
                raise ExpressionError(f"{self.text!r}: function {value}() is not emulated")
            return self.functions[low](*args)
        if value not in self.contexts:
            raise ExpressionError(f"{self.text!r}: unknown context {value!r}")
        return self.contexts[value]

    def _postfix(self, value: Any) -> Any:
        while self._peek() in (".", "["):
            if self._take()[1] == ".":
                name = self._take()[1]
            else:
                name = to_string(self._or())
                self._take("]")
            value = _member(value, name)
        return value


def _member(value: Any, name: str) -> Any:
    if isinstance(value, dict):
        for key, item in value.items():
            if key.lower() == name.lower():
                return item
        return None
    if isinstance(value, list) and re.fullmatch(r"\d+(\.0)?", name):
        index = int(float(name))
        return value[index] if index < len(value) else None
    return None


_TEMPLATE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def interpolate(text: str, evaluator: Evaluator) -> str:
    return _TEMPLATE.sub(lambda m: to_string(evaluator.evaluate(m.group(1))), text)


def condition(text: Any, evaluator: Evaluator) -> bool:
    """An ``if:`` value: bare or wrapped in ${{ }}; success() unless it names a status
    function."""
    if isinstance(text, bool):
        return text
    body = str(text).strip()
    whole = _TEMPLATE.fullmatch(body)
    if whole:
        body = whole.group(1)
    if not evaluator.uses_status(body):
        body = f"success() && ({body})"
    return truthy(evaluator.evaluate(body))
