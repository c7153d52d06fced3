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
from collections.abc import Callable, Collection


class Kind(enum.Enum):
    OTHER = "other"
    WRITE = "write"  # may have changed a watched table
    COMMIT = "commit"  # ends the transaction (a raw COMMIT or END)


HEAD_LIMIT = 4096  # leading characters (comments included) parsed before giving up to a scan

# Whitespace and comments: `--` to the end of the line, `/* */` (PostgreSQL nests them: see _plain_gap).
# Possessive (Python 3.11): a gap is never given back, so no input makes the regex backtrack.
_GAP = r"(?:\s|--[^\n]*+(?:\n|\Z)|/\*(?:[^*]|\*(?!/))*+\*/)*+"
_KEYWORD = re.compile(rf"{_GAP}([A-Za-z_]+)", re.DOTALL)
# One identifier, maybe qualified: bare, "double-quoted", `backquoted` or [bracketed].
_NAME_PART = r'(?:"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[A-Za-z_][\w$]*)'
_NAME = rf"{_NAME_PART}(?:\s*\.\s*{_NAME_PART})*"
_LAST_PART = re.compile(rf"{_NAME_PART}\Z")
# The table a write names, past the words that may come between (INSERT OR REPLACE INTO, DELETE FROM ONLY).
_TARGET = re.compile(
    rf"(?:{_GAP}(?:or|rollback|abort|replace|fail|ignore|into|from|only)\b)*{_GAP}({_NAME})", re.I | re.S
)
_COPY_TO = re.compile(rf"{_GAP}(?:\([^)]*\){_GAP})?to\b", re.I | re.S)  # after COPY's table: (columns) TO

_READS = frozenset(
    (
        "select", "show", "set", "reset", "pragma", "savepoint", "release", "begin", "start", "values",
        "declare", "fetch", "move", "close", "listen", "unlisten", "notify", "prepare", "deallocate", "discard",
        "analyze", "vacuum", "reindex", "create", "alter", "drop", "grant", "revoke", "comment", "lock",
        "checkpoint", "load", "cluster", "refresh", "security", "attach", "detach", "table", "truncate",
        "rollback", "abort",
    )
)  # fmt: skip
PLAIN_READS = ("SELECT ", "select ")  # the ORM's reads: one comparison
_COMMITS = frozenset(("commit", "end"))
_ALWAYS_WRITES = frozenset(("call", "do", "execute"))  # the statement does not name what it changes
_TARGETS = frozenset(("insert", "replace", "update", "delete", "merge", "copy"))  # keywords followed by a table


def classify(sql: str, tables: Collection[str]) -> Kind:
    """What `sql` may do to the `tables` (lowercase names, unqualified)."""
    if sql.startswith(PLAIN_READS):
        return Kind.OTHER
    head = _KEYWORD.match(sql, 0, HEAD_LIMIT)
    if head is None or not _plain_gap(sql, 0, head.start(1)):
        return _scan(sql, tables)
    keyword = head.group(1).lower()
    if keyword in _READS:
        return Kind.OTHER
    if keyword in _COMMITS:
        return Kind.COMMIT
    if keyword in _ALWAYS_WRITES:
        return Kind.WRITE
    if keyword not in _TARGETS:
        return _scan(sql, tables)  # WITH, EXPLAIN ANALYZE, unreadable heads
    target = _TARGET.match(sql, head.end(), HEAD_LIMIT)
    if target is None or not _plain_gap(sql, head.end(), target.start(1)):
        if keyword == "copy" and sql[head.end() : HEAD_LIMIT].lstrip().startswith("("):
            return Kind.OTHER  # COPY (query) TO ...
        return _scan(sql, tables)
    if _table_name(target.group(1)) not in tables:
        return Kind.OTHER
    if keyword == "copy" and _COPY_TO.match(sql, target.end(), HEAD_LIMIT):
        return Kind.OTHER
    return Kind.WRITE


def _plain_gap(sql: str, start: int, end: int) -> bool:
    """Whether the comments between start and end are read right (PostgreSQL nests `/* */`, the regex does not)."""
    return "/*" not in sql[start:end] or sql.count("/*", start, end) == sql.count("*/", start, end)


def _table_name(qualified: str) -> str:
    last = qualified
    if "." in qualified:
        found = _LAST_PART.search(qualified)
        assert found is not None  # `qualified` is a match of _NAME, which ends with a _NAME_PART
        last = found.group()
    if last[0] in '"`[':
        last = last[1:-1].replace('""', '"')
    return last.lower()


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
    # psycopg.sql.Composable, without importing psycopg: its as_string(context) gives the query's text.
    as_string: Callable[[object], str] | None = getattr(sql, "as_string", None)
    if as_string is not None:
        return as_string(raw_connection)
    return None
