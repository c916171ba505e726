r"""JSON Schema ``pattern`` (a Python regular expression) translated to RE2, DuckDB's engine.

jsonschema searches with Python's ``re``. RE2 reads most of the same syntax,
with differences this translation removes: ``\\d``, ``\\w`` and ``\\s`` mean
ASCII in RE2 and Unicode in Python (translated to Unicode classes), and ``$``
also matches before a final newline in Python (translated to ``(?:\\n?\\z)``;
``\\Z`` to ``\\z``). Constructs RE2 lacks or reads otherwise (lookaround,
back-references, ``\\b``, inline flags, possessive quantifiers, ...) are
:class:`~target_sequenced.core.schemas.Unsupported`: such a pattern is left to
the reference validator.
"""

from __future__ import annotations

import re

from target_sequenced.core.schemas import Unsupported

_SPACE = (
    r"\t\n\x0b\x0c\r\x1c-\x1f \x85\xa0\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
"""Python's whitespace (``str.isspace``), which ``\\s`` matches there."""
_WORD = r"\p{L}\p{N}_"
"""Python's ``\\w``: letters, numbers (Unicode categories L and N) and the underscore."""
_CLASS_ESCAPES = {"d": r"\p{Nd}", "w": _WORD, "s": _SPACE}
_ESCAPES = {
    "d": r"\p{Nd}",
    "D": r"\P{Nd}",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_SPACE}]",
    "S": f"[^{_SPACE}]",
    "A": r"\A",
    "Z": r"\z",
    "n": r"\n",
    "t": r"\t",
    "r": r"\r",
    "f": r"\f",
    "v": r"\x0b",
}
_MAX_REPEAT = 1000
"""RE2's limit on a counted repetition."""


def _escape(pattern: str, at: int, *, in_class: bool) -> tuple[str, int]:
    """Translate the escape at ``pattern[at]`` (just after the backslash)."""
    if at >= len(pattern):
        raise Unsupported("a pattern ending in a backslash")
    char = pattern[at]
    if in_class and char in _CLASS_ESCAPES:
        return _CLASS_ESCAPES[char], at + 1
    if not in_class and char in _ESCAPES:
        return _ESCAPES[char], at + 1
    if char.isascii() and not char.isalnum() and char != "_":
        return "\\" + char, at + 1
    if char == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", pattern[at + 1 : at + 3]):
        return "\\x" + pattern[at + 1 : at + 3], at + 3
    if char == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", pattern[at + 1 : at + 5]):
        return "\\x{" + pattern[at + 1 : at + 5] + "}", at + 5
    raise Unsupported(f"pattern escape \\{char}")


def _class(pattern: str, at: int) -> tuple[str, int]:
    """Translate the character class starting at ``pattern[at]`` (just after ``[``)."""
    out = ["["]
    if pattern.startswith("^", at):
        out.append("^")
        at += 1
    if pattern.startswith("]", at):
        out.append(r"\]")
        at += 1
    while at < len(pattern):
        char = pattern[at]
        if char == "]":
            return "".join(out) + "]", at + 1
        if char == "\\":
            if pattern[at + 1 : at + 2] in ("D", "W", "S"):
                raise Unsupported("a negated class escape inside a class")
            text, at = _escape(pattern, at + 1, in_class=True)
            out.append(text)
            continue
        if char == "[":
            if pattern.startswith(("[:", "[=", "[."), at):
                raise Unsupported("a POSIX class")
            out.append(r"\[")
        else:
            out.append(char)
        at += 1
    raise Unsupported("an unterminated character class")


def _repeat(pattern: str, at: int) -> tuple[str, int]:
    """A ``{`` at ``pattern[at]``: a counted repetition, or a literal brace as Python reads it."""
    repeat = re.match(r"\{([0-9]*)(?:,([0-9]*))?\}", pattern[at:])
    if repeat is None or not (repeat.group(1) or repeat.group(2)):
        return r"\{", at + 1
    if any(n and int(n) > _MAX_REPEAT for n in repeat.groups()):
        raise Unsupported("a repetition over 1000")
    low, comma, high = repeat.group(1), "," in repeat.group(0), repeat.group(2)
    return "{" + (low or "0") + ("," + (high or "") if comma else "") + "}", at + repeat.end()


def _token(pattern: str, at: int) -> tuple[str, int]:
    """Translate the token at ``pattern[at]``; return it and where the next one starts."""
    char = pattern[at]
    if char == "\\":
        return _escape(pattern, at + 1, in_class=False)
    if char == "[":
        return _class(pattern, at + 1)
    if char == "(" and pattern.startswith("(?", at) and not pattern.startswith("(?:", at):
        raise Unsupported("a group with (?")
    if char == "$":
        return r"(?:\n?\z)", at + 1
    if char == "{":
        return _repeat(pattern, at)
    if char in "*+?}" and pattern.startswith("+", at + 1):
        raise Unsupported("a possessive quantifier")
    return char, at + 1


def to_re2(pattern: str) -> str:
    """The RE2 pattern that searches like Python's ``re.search(pattern, ...)``."""
    try:
        re.compile(pattern)
    except re.error as exc:
        raise Unsupported(f"pattern {pattern!r}: {exc}") from exc
    out: list[str] = []
    at = 0
    while at < len(pattern):
        text, at = _token(pattern, at)
        out.append(text)
    return "".join(out)
