"""How stream and property names become SQL identifiers.

The mapping is deterministic and the same on every dialect, so one stream lands
in tables of the same name everywhere:

1. camelCase and PascalCase words are split with ``_`` (``clientName`` ->
   ``client_name``, ``HTTPServer`` -> ``http_server``), then lower-cased;
2. every run of characters outside ``[a-z0-9_]`` becomes one ``_``
   (``agent:os:version`` -> ``agent_os_version``; ``public-users`` ->
   ``public_users``);
3. a name that starts with a digit gets a leading ``_``; an empty name is ``_``;
4. a name longer than the identifier limit (63, PostgreSQL's) is cut and ends
   with ``_`` and 8 hex digits of the SHA-1 of the original name, so two long
   names that share a prefix stay distinct.

Reserved words need no mapping: every identifier is quoted when sent.
Two properties that map to the same column are an error (see
:func:`conform_names`), never a silent merge.
"""

from __future__ import annotations

import hashlib
import re

from target_sequenced.core.errors import SchemaError

MAX_IDENTIFIER_LENGTH = 63
_HASH_CHARS = 8
_CAMEL_LOWER_UPPER = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CAMEL_ACRONYM = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_IDENT = re.compile(r"[^a-z0-9_]+")


def conform_name(name: str, max_length: int = MAX_IDENTIFIER_LENGTH) -> str:
    """Map one stream or property name to an identifier (rules in the module doc)."""
    text = _CAMEL_ACRONYM.sub("_", _CAMEL_LOWER_UPPER.sub("_", name)).lower()
    text = _NOT_IDENT.sub("_", text)
    if not text:
        text = "_"
    if text[0].isdigit():
        text = "_" + text
    if len(text) > max_length:
        digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:_HASH_CHARS]  # noqa: S324
        text = f"{text[: max_length - _HASH_CHARS - 1]}_{digest}"
    return text


def conform_names(
    stream: str,
    names: list[str],
    max_length: int = MAX_IDENTIFIER_LENGTH,
) -> dict[str, str]:
    """Map every property name of a stream; raise if two land on one column."""
    mapped: dict[str, str] = {}
    owner: dict[str, str] = {}
    for name in names:
        column = conform_name(name, max_length)
        if column in owner:
            msg = (
                f"stream '{stream}': properties '{owner[column]}' and '{name}' both "
                f"map to column '{column}'; rename one of them in the tap or a "
                "stream map"
            )
            raise SchemaError(msg)
        owner[column] = name
        mapped[name] = column
    return mapped
