"""Which SQL statements may change a watched table, read from their first tokens.

The statement hook asks this of every statement a Django connection runs, so
it must be cheap: a statement is classified by its leading keyword and, for
INSERT, UPDATE, DELETE, MERGE, REPLACE and COPY, by the table named next (a
1,000-row INSERT is never scanned past its table name). What cannot be read
that way (a `WITH` query, an unknown keyword, a head longer than HEAD_LIMIT) is
scanned for the names of watched tables; a procedure call (`CALL`, `DO`,
`EXECUTE`) always counts as a write. A spurious delivery costs one outbox read,
a missed one a stale page, so every doubt is a write.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Collection


class Kind(enum.Enum):
    OTHER = "other"
    WRITE = "write"  # may have changed a watched table
    COMMIT = "commit"  # ends the transaction (a raw COMMIT or END)


HEAD_LIMIT = 4096  # leading characters (comments included) parsed before giving up to a scan

# Whitespace and comments: `--` to the end of the line, `/* */` (PostgreSQL nests them: see _skip_gap).
_GAP = re.compile(r"(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)
_WORD = re.compile(r"[A-Za-z_]+")
# One identifier, maybe qualified: bare, "double-quoted", `backquoted` or [bracketed].
_NAME_PART = r'(?:"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[A-Za-z_][\w$]*)'
_NAME = re.compile(rf"{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*")
_LAST_PART = re.compile(rf"{_NAME_PART}\Z")

_READS = frozenset(
    (
        "select", "show", "set", "reset", "pragma", "savepoint", "release", "begin", "start", "values",
        "declare", "fetch", "move", "close", "listen", "unlisten", "notify", "prepare", "deallocate", "discard",
        "analyze", "vacuum", "reindex", "create", "alter", "drop", "grant", "revoke", "comment", "lock",
        "checkpoint", "load", "cluster", "refresh", "security", "attach", "detach", "table", "truncate",
        "rollback", "abort",
    )
)  # fmt: skip
_COMMITS = frozenset(("commit", "end"))
_ALWAYS_WRITES = frozenset(("call", "do", "execute"))  # the statement does not name what it changes
_SKIP = {  # words between the keyword and the table
    "insert": ("or", "rollback", "abort", "replace", "fail", "ignore", "into"),
    "replace": ("into",),
    "update": ("or", "rollback", "abort", "replace", "fail", "ignore", "only"),
    "delete": ("from", "only"),
    "merge": ("into",),
    "copy": (),
}


def classify(sql: str, tables: Collection[str]) -> Kind:
    """What `sql` may do to the `tables` (lowercase names, unqualified)."""
    pos = _skip_gap(sql, 0)
    if pos is None:
        return _scan(sql, tables)
    word = _WORD.match(sql, pos)
    keyword = word.group().lower() if word else ""
    if keyword in _READS:
        return Kind.OTHER
    if keyword in _COMMITS:
        return Kind.COMMIT
    if keyword in _ALWAYS_WRITES:
        return Kind.WRITE
    if keyword not in _SKIP:
        return _scan(sql, tables)  # WITH, EXPLAIN ANALYZE, unreadable heads
    pos = word.end()
    while True:
        pos = _skip_gap(sql, pos)
        if pos is None:
            return _scan(sql, tables)
        word = _WORD.match(sql, pos)
        if not word or word.group().lower() not in _SKIP[keyword]:
            break
        pos = word.end()
    if keyword == "copy" and sql.startswith("(", pos):
        return Kind.OTHER  # COPY (query) TO ...
    name = _NAME.match(sql, pos)
    if name is None:
        return _scan(sql, tables)
    if _table_name(name.group()) not in tables:
        return Kind.OTHER
    if keyword == "copy":
        return _copy_direction(sql, name.end())
    return Kind.WRITE


def _skip_gap(sql: str, pos: int) -> int | None:
    """Where the next token starts; None past HEAD_LIMIT or after a nested comment (unsure)."""
    end = _GAP.match(sql, pos, HEAD_LIMIT).end()
    if end >= HEAD_LIMIT:
        return None
    if "/*" in sql[pos:end] and sql.count("/*", pos, end) != sql.count("*/", pos, end):
        return None
    return end


def _table_name(qualified: str) -> str:
    last = _LAST_PART.search(qualified).group()
    if last[0] in '"`[':
        last = last[1:-1].replace('""', '"')
    return last.lower()


def _copy_direction(sql: str, pos: int) -> Kind:
    """`COPY table [(columns)] FROM ...` writes; `... TO ...` reads."""
    pos = _GAP.match(sql, pos, HEAD_LIMIT).end()
    if sql.startswith("(", pos):
        end = sql.find(")", pos, HEAD_LIMIT)
        if end < 0:
            return Kind.WRITE
        pos = _GAP.match(sql, end + 1, HEAD_LIMIT).end()
    word = _WORD.match(sql, pos)
    return Kind.OTHER if word and word.group().lower() == "to" else Kind.WRITE


def _scan(sql: str, tables: Collection[str]) -> Kind:
    return Kind.WRITE if mentions_any(sql, tables) else Kind.OTHER


def mentions_any(sql: str, tables: Collection[str]) -> bool:
    """Whether any of the tables is named anywhere in `sql` (a script, a query we cannot read)."""
    lowered = sql.lower()
    return any(table in lowered for table in tables)


def statement_text(sql: object, raw_connection: object) -> str | None:
    """The text of a query as a driver accepts it (`str`, `bytes`, psycopg's `sql.Composable`); None if unknown."""
    if isinstance(sql, str):
        return sql
    if isinstance(sql, (bytes, bytearray, memoryview)):
        return bytes(sql).decode("utf-8", "replace")
    as_string = getattr(sql, "as_string", None)  # psycopg.sql.Composable, without importing psycopg
    if as_string is not None:
        return as_string(raw_connection)
    return None
