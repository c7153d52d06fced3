"""A design probe for the write issue: can a writer learn its own changes without reading the outbox?

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python -m benchmarks.own_notifications

Today a writer's statement fires a trigger that writes its changes to the outbox and notifies the
relay; after the commit, the writer reads its entries back (a second database round trip) to know
which keys to invalidate. PostgreSQL delivers a session's notifications to itself too, at its
commit, in the same answer as the statement (or the COMMIT) that ends the transaction: a trigger
that also notifies the writer's own channel with its entries hands them over in that round trip,
and the read disappears.

Measured here side by side, on a scratch schema of plain psycopg (not the library), a lone
autocommit UPDATE of one row of 1,000, in interleaved rounds; medians:

- no capture: the UPDATE alone (the baseline);
- outbox, read back: the trigger writes the outbox and notifies the relay; the writer then
  selects its entries (today's shape);
- outbox, own notification: the same trigger also notifies the writer's channel with the entries;
  the writer reads them from the notification (no second statement).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable

import psycopg

SCHEMA = f"bench_own_notify_{os.getpid()}"
ROWS = 1_000
TRIGGER = """
CREATE FUNCTION {schema}.capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE entries jsonb;
BEGIN
  WITH written AS (
    INSERT INTO {schema}.outbox (writer, old_category, new_category)
    SELECT pg_backend_pid(), o.category, n.category FROM old_rows o JOIN new_rows n USING (id)
    RETURNING id, old_category, new_category
  )
  SELECT jsonb_agg(jsonb_build_array(id, old_category, new_category)) INTO entries FROM written;
  PERFORM pg_notify('{schema}_relay', '');
  IF {own} THEN
    PERFORM pg_notify('{schema}_' || pg_backend_pid(), entries::text);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER capture AFTER UPDATE ON {schema}.item REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION {schema}.capture();
"""
UPDATE = f"UPDATE {SCHEMA}.item SET price = price + 1 WHERE id = %s"


def setup(connection: psycopg.Connection, design: str) -> None:
    connection.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    connection.execute(f"CREATE SCHEMA {SCHEMA}")
    connection.execute(f"CREATE TABLE {SCHEMA}.item (id int PRIMARY KEY, category int, price numeric)")
    connection.execute(
        f"CREATE TABLE {SCHEMA}.outbox (id bigserial PRIMARY KEY, writer int, old_category int, new_category int)"
    )
    connection.execute(f"INSERT INTO {SCHEMA}.item SELECT i, i % 10, 1 FROM generate_series(1, {ROWS}) i")
    if design != "none":
        connection.execute(TRIGGER.format(schema=SCHEMA, own="true" if design == "own" else "false"))


def writer(connection: psycopg.Connection, design: str) -> Callable[[], list]:
    """One write and the entries its writer learns (the keys it would invalidate come from them)."""
    last_seen = [0]
    notified: list[str] = []
    if design == "own":
        connection.add_notify_handler(lambda notification: notified.append(notification.payload))
        connection.execute(f"LISTEN {SCHEMA}_{connection.info.backend_pid}")

    def write() -> list:
        connection.execute(UPDATE, (1 + time.perf_counter_ns() % ROWS,))
        if design == "read":
            rows = connection.execute(
                f"SELECT id, old_category, new_category FROM {SCHEMA}.outbox"
                " WHERE writer = pg_backend_pid() AND id > %s ORDER BY id",
                (last_seen[0],),
            ).fetchall()
            if rows:
                last_seen[0] = rows[-1][0]
            return rows
        if design == "own":
            entries = [entry for payload in notified for entry in json.loads(payload)]
            notified.clear()
            return entries
        return []

    return write


def measure(dsn: str, rounds: int, writes: int) -> dict[str, list[float]]:
    designs = ("none", "read", "own")
    times: dict[str, list[float]] = {design: [] for design in designs}
    for _ in range(rounds):
        for design in designs:  # interleaved: the machine's noise meets every design alike
            with psycopg.connect(dsn, autocommit=True) as connection:
                setup(connection, design)
                write = writer(connection, design)
                for _ in range(50):
                    learnt = write()
                    assert design == "none" or len(learnt) == 1, f"{design}: the writer learnt {learnt!r}"
                started = time.perf_counter()
                for _ in range(writes):
                    write()
                times[design].append((time.perf_counter() - started) / writes * 1000)
                connection.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--writes", type=int, default=500, help="per round and design")
    args = parser.parse_args(argv)
    dsn = os.environ.get("DATABASE_URL", "")
    if not dsn.startswith("postgres"):
        raise SystemExit("benchmarks.own_notifications needs DATABASE_URL=postgres://...")
    times = measure(dsn, args.rounds, args.writes)
    print("\n".join(format_table(times, args.rounds, args.writes)))
    return 0


def format_table(times: dict[str, list[float]], rounds: int, writes: int) -> list[str]:
    base = statistics.median(times["none"])
    names = {"none": "no capture", "read": "outbox, read back (today)", "own": "outbox, own notification"}
    lines = [
        "",
        f"Design probe (benchmarks/own_notifications.py, plain psycopg on a scratch schema): a lone autocommit "
        f"UPDATE and what its writer learns of it, {rounds} interleaved rounds of {writes}; medians.",
        "",
        "| design | ms per write | vs no capture |",
        "| --- | ---: | ---: |",
    ]
    for design, name in names.items():
        median = statistics.median(times[design])
        lines.append(f"| {name} | {median:.3f} | {median / base:.2f}x |")
    return lines


if __name__ == "__main__":
    sys.exit(main())
