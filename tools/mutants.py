"""Break cache_sync on purpose, one guard at a time, and check that its own suite notices.

    python -m tools.mutants            # every mutant; exits 1 if one survives
    python -m tools.mutants page_read front_door  # those whose file or name holds a word
    DATABASE_URL=postgres://... python -m tools.mutants  # on PostgreSQL (and its own mutants)

Each mutant is a text replacement in a copy of the package (the working tree is
never touched); the copy's suite must fail. A guard whose removal no test notices
is a guard nobody checks. A guard of one database's path only (SQLite's
unfinished statements, psycopg's COPY) names that database and runs there only.
The test that killed a mutant last (tools/mutant_killers.json, rewritten by each
run) runs first, so a killed mutant costs one test, not the suite up to it; a mutant not
yet killed on this database tries the other database's killer first.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    original: str
    broken: str
    database: str = ""  # "sqlite" or "postgresql" for a guard of that database's path only; "" for both


MUTANTS = [
    Mutant(
        "storable: a response that sets a cookie is stored",
        "pages/storable.py",
        'if response.cookies or request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):',
        'if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):',
    ),
    Mutant(
        "storable: a response that is not 200 is stored",
        "pages/storable.py",
        "if response.status_code != 200 or response.streaming:",
        "if response.streaming:",
    ),
    Mutant(
        "scripts: a lease's family never expires (read script)",
        "store/scripts.py",
        "if redis.call('PTTL', KEYS[1]) < lease_ms then redis.call('PEXPIRE', KEYS[1], lease_ms) end",
        "",
    ),
    Mutant(
        "scripts: a stored page's family never expires (store script)",
        "store/scripts.py",
        "if redis.call('PTTL', KEYS[1]) < ttl_ms then redis.call('PEXPIRE', KEYS[1], ttl_ms) end",
        "",
    ),
    Mutant(
        "scripts: a page stored after its lease expired is kept",
        "store/scripts.py",
        "if tonumber(string.sub(lease, #mine + 1)) <= now then return 0 end",
        "",
    ),
    Mutant(
        "scripts: a Redis restored from a snapshot serves the old run's pages",
        "store/scripts.py",
        "if stored_run and stored_run ~= run then redis.call('DEL', KEYS[1]) end",
        "",
    ),
    Mutant(
        "store: the one-HMGET hit serves a page stored by another run of the server",
        "store/page_store.py",
        "if page is None or expires is None or stored_run != run or int(expires) <= time.time() * 1000:",
        "if page is None or expires is None or int(expires) <= time.time() * 1000:",
    ),
    Mutant(
        "store: a connection keeps the run id it learnt after it reconnects",
        "store/page_store.py",
        "connection.register_connect_callback(self._forget_run)",
        "pass",
    ),
    Mutant(
        "store: the one-HMGET hit serves a page past its expiry",
        "store/page_store.py",
        "if page is None or expires is None or stored_run != run or int(expires) <= time.time() * 1000:",
        "if page is None or stored_run != run:",
    ),
    Mutant(
        "wsgi: the middleware reads again instead of taking over the layer's read (and its lease)",
        "front_door.py",
        "if READ_BEFORE_DJANGO in request.META else anonymous_read(request)",
        "if False else anonymous_read(request)",
    ),
    Mutant(
        "wsgi: the layer's request rewrites the server's environ",
        "wsgi.py",
        "request = WSGIRequest(dict(environ))",
        "request = WSGIRequest(environ)",
    ),
    Mutant(
        "delivery: observers' signal is sent with send() (a failing listener stops delivery)",
        "delivery/delivery.py",
        "keys_invalidated.send_robust(",
        "keys_invalidated.send(",
    ),
    Mutant(
        "delivery: the callback queues behind the others (a failing one drops it)",
        "delivery/delivery.py",
        "connection.run_on_commit.insert(0, (set(connection.savepoint_ids), callback, True))",
        "connection.run_on_commit.append((set(connection.savepoint_ids), callback, True))",
    ),
    Mutant(
        "triggers: an UPDATE records only the new values (old keys from memory or nowhere)",
        "capture/trigger_sql.py",
        '                _sqlite_insert(label, _sqlite_json(watched, "OLD")),\n'
        '                _sqlite_insert(label, _sqlite_json(watched, "NEW"), f" WHERE {_sqlite_changed(keys)}"),',
        '                _sqlite_insert(label, _sqlite_json(watched, "NEW")),',
        database="sqlite",  # PostgreSQL's UPDATE trigger has a mutant of its own
    ),
    Mutant(
        "pages: with the front door, the decorator stores before the other middleware ran",
        "pages/decorator.py",
        "    return response if read.deferred else read.finish(request, response)",
        "    return read.finish(request, response)",
    ),
    Mutant(
        "front door: an answer from a middleware, not the view, is stored as the page",
        "pages/page_read.py",
        "        if not self.view_ran:\n            self.release()",
        "        if False:\n            self.release()",
    ),
    Mutant(
        "storable: a Vary header the variant does not key on is ignored",
        "pages/storable.py",
        'if "*" in vary or vary - {"cookie"} - keyed_headers:',
        'if "*" in vary:',
    ),
    Mutant(
        "page_read: a page that shows a visitor's session data (an anonymous basket) is stored",
        "pages/page_read.py",
        "            if reason is None and self.shows_session and holds_data(request):",
        "            if False:",
    ),
    Mutant(
        "page_read: a visitor with session data is served the shared page of a view that shows the session",
        "pages/page_read.py",
        "split_page(self.result.page).reads_session and holds_data(request):",
        "split_page(self.result.page).reads_session and False:",
    ),
    Mutant(
        "session_reads: the keys a view reads from the session are not noted",
        "pages/session_reads.py",
        "        yield lambda: bool(noted.reads - UNSHOWN_KEYS)",
        "        yield lambda: False",
    ),
    Mutant(
        "rebuild: a rebuilt or warmed page is built by its view alone, without the middleware's headers",
        "pages/rebuild.py",
        "if match is not None and match.func is page.endpoint:",
        "if False:",
    ),
    Mutant(
        "etags: visitors who see the same body share an ETag (a private page's validator is not its own)",
        "pages/etags.py",
        "    digest = hashlib.blake2b(variant.encode(), digest_size=16)",
        "    digest = hashlib.blake2b(digest_size=16)",
    ),
    Mutant(
        "front door: If-None-Match is ignored on a hit (200 with the whole page)",
        "pages/page_read.py",
        "        return not_modified(request, response)",
        "        return response",
    ),
    Mutant(
        "wsgi: the layer ignores If-None-Match on a hit",
        "wsgi.py",
        'if "HTTP_IF_NONE_MATCH" in environ:',
        "if False:",
    ),
    Mutant(
        "pages: the variant leaves out the URL pattern",
        "pages/decorator.py",
        'return "|".join([route, visitor, urlencode(query), *headers])',
        'return "|".join([visitor, urlencode(query), *headers])',
    ),
    Mutant(
        "pages: a signed-in variant leaves out the visitor's name",
        "pages/decorator.py",
        'visitor = f"u{user.pk}.{user_fingerprint(user)}"',
        'visitor = f"u{user.pk}"',
    ),
    Mutant(
        "pages: signed-in pages are not marked private",
        "pages/page_read.py",
        "return keep_private(response) if self.signed_in else response",
        "return response",
    ),
    Mutant(
        "breaker: no circuit breaker (every request waits out a paused Redis)",
        "store/breaker.py",
        "    def __enter__(self) -> None:\n        breaker.check()",
        "    def __enter__(self) -> None:\n        pass",
    ),
    Mutant(
        "pages: a reader that saw Redis fail serves hits again without delivering the outbox first",
        "pages/page_read.py",
        "            if breaker.owes_catch_up:\n                catch_up()",
        "",
    ),
    Mutant(
        "scripts: expired variants are never removed from a family",
        "store/scripts.py",
        "redis.call('HDEL', KEYS[1], name, 'b:' .. string.sub(name, 3))",
        "",
    ),
    Mutant(
        "storable: a page built inside a writing transaction is stored",
        "pages/storable.py",
        "    if writes_pending():",
        "    if False:",
    ),
    Mutant(
        "schema_hooks: a table's triggers are not dropped before a schema operation on it",
        "capture/schema_hooks.py",
        "        for table in before:\n            drop_triggers_of(self, table)\n",
        "",
    ),
    Mutant(
        "schema_hooks: a table's triggers are not re-created after a schema operation on it",
        "capture/schema_hooks.py",
        "        for table in after:\n            create_triggers_of(self, table)\n",
        "",
    ),
    Mutant(
        "schema_hooks: the schema editors are not wrapped",
        "capture/schema_hooks.py",
        "            wrapper_class.SchemaEditorClass = following_schema_editor(wrapper_class.SchemaEditorClass)",
        "            pass",
    ),
    Mutant(
        "triggers: a trigger names the rules' columns the table does not have (yet)",
        "capture/watched.py",
        "        key_columns=tuple(key for key in watched.key_columns if key[1] in columns),\n"
        "        change_columns=tuple(column for column in watched.change_columns if column in columns),",
        "",
    ),
    Mutant(
        "triggers: SQLite records no row an INSERT OR REPLACE deletes",
        "capture/trigger_sql.py",
        '            by_operation["REPLACE"] = [_sqlite_replaced(watched)]',
        "            pass",
        database="sqlite",
    ),
    Mutant(
        "triggers: the INSERT OR REPLACE record takes every row, not the conflicting ones",
        "capture/trigger_sql.py",
        'f"FROM {_q(watched.table)} AS old WHERE {conflicts};"',
        'f"FROM {_q(watched.table)} AS old;"',
        database="sqlite",
    ),
    Mutant(
        "triggers: PostgreSQL records no TRUNCATE",
        "capture/trigger_sql.py",
        '    by_operation["TRUNCATE"] = [_pg_truncated(label) for label in labels]',
        "",
        database="postgresql",
    ),
    Mutant(
        "affected: a TRUNCATE entry clears nothing",
        "delivery/affected.py",
        "            affected.fan_out.append(_every_key_of(rule, config))",
        "            pass",
        database="postgresql",
    ),
    Mutant(
        "affected: a TRUNCATE entry clears every cached key, not its rule's",
        "delivery/affected.py",
        "            if any(template.match(key) is not None for template in patterned):",
        "            if True:",
        database="postgresql",
    ),
    Mutant(
        "checks: triggers that do not fire for the site's connections pass the check",
        "checks.py",
        "        if silent:",
        "        if False:",
        database="postgresql",
    ),
    Mutant(
        "triggers: a replica session is taken to fire ORIGIN triggers",
        "capture/triggers.py",
        '        firing = ("R", "A") if role == "replica" else ("O", "A")',
        '        firing = ("O", "A")',
        database="postgresql",
    ),
    Mutant(
        "triggers: a trigger installed with other SQL counts as current (names compared, not the hash beside them)",
        "capture/triggers.py",
        "        current=tuple(t for t in wanted if t.name in installed and installed[t.name].hash == t.hash),\n"
        "        outdated=tuple(t for t in wanted if t.name in installed and installed[t.name].hash != t.hash),",
        "        current=tuple(t for t in wanted if t.name in installed),\n        outdated=(),",
    ),
    Mutant(
        "triggers: install drops the old triggers and creates the new ones in separate transactions (a write between "
        "them is not recorded)",
        "capture/triggers.py",
        "    connection = connections[using]\n"
        "    with transaction.atomic(using=using), connection.cursor() as cursor:\n"
        "        for found in diff.orphaned:",
        "    connection = connections[using]\n"
        "    with connection.cursor() as cursor:\n"
        "        for found in diff.orphaned:",
    ),
    Mutant(
        "triggers: prune drops the triggers the rules want too",
        "capture/triggers.py",
        "    orphaned = compare_triggers(using, config).orphaned",
        "    orphaned = tuple(installed_triggers(using).values())",
    ),
    Mutant(
        "trigger_ddl: another owner's triggers are taken for cache_sync's (prune drops them)",
        "capture/trigger_ddl.py",
        '    like = f"{owner}_".replace("_", "\\\\_") + "%"',
        '    like = "%"',
    ),
    Mutant(
        "triggers: PostgreSQL's triggers record a suspended transaction's writes (no WHEN on the setting)",
        "capture/trigger_sql.py",
        '            level=f"STATEMENT WHEN ({NOT_SUSPENDED})",',
        '            level="STATEMENT",',
        database="postgresql",
    ),
    Mutant(
        "api: suspended() leaves the setting on after its block (later writes of its transaction go unrecorded)",
        "api.py",
        '        cursor.execute("SELECT set_config(%s, %s, true)", [SUSPENDED, previous])',
        "        pass",
        database="postgresql",
    ),
    Mutant(
        "api: a nested suspended() ends its outer block's suspension",
        "api.py",
        '        previous = cursor.fetchone()[0] or ""',
        '        previous = ""',
        database="postgresql",
    ),
    Mutant(
        "api: suspended() sets the setting for the session (it outlives the block's transaction)",
        "api.py",
        """        cursor.execute("SELECT set_config(%s, 'on', true)", [SUSPENDED])""",
        """        cursor.execute("SELECT set_config(%s, 'on', false)", [SUSPENDED])""",
        database="postgresql",
    ),
    Mutant(
        "api: invalidate_keys() inside suspended() records its keys",
        "api.py",
        "    if keys and not delivery_suspended(using):",
        "    if keys:",
        database="postgresql",  # SQLite's block drops every entry of its transaction anyway
    ),
    Mutant(
        "triggers: the UPDATE trigger keeps a nested-loop plan made for one row (quadratic in a warmed process)",
        "capture/trigger_sql.py",
        '    planner = {"UPDATE": PLANNER_SETTINGS} if isinstance(watched, WatchedTable) else {}',
        "    planner = {}",
        database="postgresql",
    ),
    Mutant(
        "triggers: a TRUNCATE that empties the outbox too (a flush) records its tables",
        "capture/trigger_sql.py",
        "true) IS DISTINCT FROM 'on' \"",
        "true) IS DISTINCT FROM 'never' \"",
        database="postgresql",
    ),
    Mutant(
        "relay: a lost LISTEN connection ends the relay",
        "delivery/relay.py",
        "        try:\n            self.listener()\n        except Exception as error:\n            self._lost(error)",
        "        self.listener()",
    ),
    Mutant(
        "relay: an error it did not foresee ends the relay",
        "delivery/relay.py",
        "        except Exception as error:  # the database, the listener's connect, or anything else",
        "        except DatabaseError as error:",
    ),
    Mutant(
        "relay: a lost LISTEN connection is never reopened",
        "delivery/relay.py",
        "            self.lost_at = time.monotonic()\n        self.close_listener()",
        "            self.lost_at = time.monotonic()",
    ),
    Mutant(
        "relay: a model whose rule cannot render its entries blocks every other model",
        "delivery/relay.py",
        "            if not self._set_aside_failing_models(error):",
        "            if True:",
    ),
    Mutant(
        "relay: a model set aside is never tried again",
        "delivery/relay.py",
        "        if config is not self.config or time.monotonic() >= self.set_aside_until:",
        "        if config is not self.config:",
    ),
    Mutant(
        "outbox: a process reads (and deletes) entries of models it has no rule for",
        "capture/outbox.py",
        "    if labels is None:\n        return \"TRUE\"",
        "    if True:\n        return \"TRUE\"",
    ),
    Mutant(
        "delivery: a writer deletes its transaction's entries of models it has no rule for",
        "delivery/delivery.py",
        "outbox.remove_of_this_writer(using, changes, labels)",
        "outbox.remove_of_this_writer(using, changes)",
    ),
    Mutant(
        "outbox: pruning measures from the statement's time, not from the first sight after commit",
        "capture/outbox.py",
        "filter(seen_at__lt=cutoff)",
        "filter(created_at__lt=cutoff)",
    ),
    Mutant(
        "delivery: catch-up delivers the default database's outbox only",
        "delivery/delivery.py",
        "    for alias in [using] if using else outbox_aliases():",
        "    for alias in [using or DEFAULT_DB_ALIAS]:",
    ),
    Mutant(
        "delivery: the relay's aliases leave out where the rules' models are written",
        "delivery/delivery.py",
        "            aliases[router.db_for_write(apps.get_model(label))] = None",
        "            apps.get_model(label)",
    ),
    Mutant(
        "checks: no warning when no relay beats (W030)",
        "checks.py",
        "        if silent is None or silent > RELAY_SILENT_AFTER:",
        "        if False:",
    ),
    Mutant(
        "relay: no heartbeat while Redis is away",
        "delivery/relay.py",
        "        try:\n            self._housekeep()\n        except Exception as db_error:",
        "        try:\n            pass\n        except Exception as db_error:",
    ),
    Mutant(
        "statements: comments before the keyword are not skipped (a commented RunSQL is missed)",
        "delivery/statements.py",
        r'_GAP = r"(?:\s|--[^\n]*+(?:\n|\Z)|/\*(?:[^*]|\*(?!/))*+\*/)*+"',
        r'_GAP = r"\s*"',
    ),
    Mutant(
        "statements: a nested comment (PostgreSQL) hides the keyword after it",
        "delivery/statements.py",
        '    return "/*" not in sql[start:end] or sql.count("/*", start, end) == sql.count("*/", start, end)',
        "    return True",
    ),
    Mutant(
        "statements: a bytes query is not decoded",
        "delivery/statements.py",
        "if isinstance(sql, (bytes, bytearray, memoryview)):",
        "if False:",
    ),
    Mutant(
        "statements: a psycopg Composable is not rendered",
        "delivery/statements.py",
        "        return as_string(raw_connection)",
        "        return None",
    ),
    Mutant(
        "statements: a write on an unwatched table counts as a watched one (a delivery per write)",
        "delivery/statements.py",
        "    if _table_name(target.group(1)) not in tables:\n        return Kind.OTHER",
        "    if False:\n        return Kind.OTHER",
    ),
    Mutant(
        "statements: every statement of an unknown shape is scanned whole (a 1,000-row INSERT included)",
        "delivery/statements.py",
        "    if keyword not in _TARGETS:\n        return _scan(sql, tables)",
        "    if True:\n        return _scan(sql, tables)",
    ),
    Mutant(
        "receivers: a statement the hook cannot read counts as no write",
        "delivery/receivers.py",
        "            if text is None:\n                return Kind.WRITE",
        "            if text is None:\n                return Kind.OTHER",
    ),
    Mutant(
        "receivers: the hook raises when it cannot read a statement",
        "delivery/receivers.py",
        '        except Exception:\n            logger.debug("Unreadable statement',
        '        except ArithmeticError:\n            logger.debug("Unreadable statement',
    ),
    Mutant(
        "receivers: the hook raises when its delivery fails (after the statement ran)",
        "delivery/receivers.py",
        '        except Exception:\n            logger.exception("cache_sync could not schedule',
        '        except ArithmeticError:\n            logger.exception("cache_sync could not schedule',
    ),
    Mutant(
        "receivers: an SQLite statement returning rows is delivered before it finishes (and commits)",
        "delivery/receivers.py",
        'return connection.vendor == "sqlite" and not connection.in_atomic_block and cursor.description is not None',
        "return False",
        database="sqlite",
    ),
    Mutant(
        "receivers: closing the cursor of a statement that returned rows does not deliver it",
        "delivery/receivers.py",
        "if vars(self).pop(_ROWS_PENDING, False):",
        "if False:",
        database="sqlite",
    ),
    Mutant(
        "receivers: executescript() is not watched",
        "delivery/receivers.py",
        "            _hook.after_statement(script, self.db, self, script=True)",
        "            pass",
        database="sqlite",
    ),
    Mutant(
        "receivers: copy() is not watched",
        "delivery/receivers.py",
        "            _hook.after_statement(statement, self.db, self)",
        "            pass",
        database="postgresql",
    ),
    Mutant(
        "receivers: callproc() is not watched",
        "delivery/receivers.py",
        "            _hook.schedule(Kind.WRITE, self.db, self)",
        "            pass",
        database="postgresql",
    ),
    Mutant(
        "receivers: connection.commit() of a manual transaction does not deliver",
        "delivery/receivers.py",
        "        commit()\n        _deliver_owed(connection.alias)",
        "        commit()",
    ),
    Mutant(
        "receivers: set_autocommit(True), which commits on SQLite, does not deliver",
        "delivery/receivers.py",
        "        if autocommit:\n            _deliver_owed(connection.alias)",
        "        pass",
        database="sqlite",
    ),
    Mutant(
        "receivers: a raw COMMIT does not deliver",
        "delivery/receivers.py",
        "elif kind is Kind.COMMIT and not connection.in_atomic_block:",
        "elif False:",
    ),
    Mutant(
        "delivery: a write after a raw BEGIN is delivered before its COMMIT",
        "delivery/delivery.py",
        "if connection.get_autocommit() and not driver_in_transaction(connection):",
        "if connection.get_autocommit():",
    ),
    Mutant(
        "delivery: a manual transaction's writes are never delivered by the writer",
        "delivery/delivery.py",
        "            setattr(_owed, using, True)  # a manual transaction or a raw BEGIN: after its commit",
        "            pass",
    ),
    Mutant(
        "delivery: an atomic block inside a manual transaction waits for set_autocommit(True)",
        "delivery/delivery.py",
        "    if not connection.commit_on_exit:",
        "    if False:",
    ),
    Mutant(
        "delivery: the delivery after a manual commit leaves its own deletes uncommitted",
        "delivery/delivery.py",
        "        try:\n            connection.commit()\n",
        "        try:\n            pass\n",
    ),
    Mutant(
        "pages: a lease taken while a transaction holds an older snapshot stores its page",
        "pages/page_read.py",
        'older = result.status == "build" and snapshot_taken()',
        "older = False",
    ),
    Mutant(
        "storable: a SQLite transaction open at the lease is taken for one without a snapshot",
        "pages/storable.py",
        "        return connection.connection.in_transaction",
        "        return False",
        database="sqlite",  # SQLite's branch of the snapshot check
    ),
    Mutant(
        "storable: a REPEATABLE READ transaction that has not read yet counts as holding a snapshot",
        "pages/storable.py",
        " and int(connection.connection.info.transaction_status) != 0",
        "",
    ),
    Mutant(
        "front door: a signed-in visitor's page is read inside the view's transaction (ATOMIC_REQUESTS)",
        "front_door.py",
        "        read = read_for_view(page, request, view_kwargs)  # loads",
        "        return None  # loads",
    ),
    Mutant(
        "pages: the decorator drops the signed-in lease the front door took",
        "pages/decorator.py",
        "        if signed_in != read.signed_in:",
        "        if signed_in:",
    ),
    Mutant(
        "scripts: a page read from a replica behind the family's invalidation is stored",
        "store/scripts.py",
        "  if ARGV[7] ~= '' and w and ARGV[7] < w then return 0 end",
        "",
    ),
    Mutant(
        "scripts: a late delivery lowers the family's invalidation position",
        "store/scripts.py",
        "if not w or w < ARGV[1] then w = ARGV[1] end",
        "w = ARGV[1]",
    ),
    Mutant(
        "delivery: the invalidation leaves no position (replicas)",
        "replicas.py",
        'if not get_config().replicas or connections[using].vendor != "postgresql":',
        "if True:",
    ),
    Mutant(
        "replicas: a fill behind the family's position still reads from the replica",
        "replicas.py",
        "        if self.behind:\n            send_reads_to_primary(True)",
        "        if self.behind:\n            pass",
    ),
    Mutant(
        "replicas: a writer's next request reads from a replica that has not replayed its write",
        "replicas.py",
        "replayed_position() < wrote:\n        send_reads_to_primary(True)",
        "replayed_position() < wrote:\n        pass",
    ),
    Mutant(
        "replicas: a writer's requests stay on the primary after the replica replayed its write",
        "replicas.py",
        "if wrote and get_config().replicas and replayed_position() < wrote:",
        "if wrote and get_config().replicas:",
    ),
    Mutant(
        "replicas: positions compare as text ('A/0' before '10/0')",
        "replicas.py",
        'return f"{int(high, 16):08X}{int(low, 16):08X}"',
        'return f"{high}/{low}"',
    ),
    Mutant(
        "replicas: a request turns off the primary routing that the WSGI layer's fill chose",
        "replicas.py",
        "    if wrote and get_config().replicas and replayed_position() < wrote:\n        send_reads_to_primary(True)",
        "    send_reads_to_primary(bool(wrote and get_config().replicas and replayed_position() < wrote))",
    ),
    Mutant(
        "front door: a visitor with an anonymous session is read inside the view's transaction",
        "front_door.py",
        "        read = read_for_view(page, request, view_kwargs)  # loads",
        "        if not request.user.is_authenticated:\n            return None\n"
        "        read = read_for_view(page, request, view_kwargs)  # loads",
        # PostgreSQL tells whether the view's transaction has read yet: its page is stored either way.
        database="sqlite",
    ),
    Mutant(
        "replicas: a fill sent to the primary that read a replica anyway is stored unchecked",
        "replicas.py",
        "        self.read_a_replica = True\n",
        "        pass\n",
    ),
    Mutant(
        "replicas: a fill that read only the primary is never stored while a replica lags",
        "replicas.py",
        'return "" if self.behind and not self.read_a_replica else self.replayed',
        "return self.replayed",
    ),
    Mutant(
        "audit: a model without a rule is not reported",
        "observe/audit.py",
        'result.findings.append(Finding("no rule", label, f"{label} has no rule. {_hint(model, template)}"))',
        "pass",
    ),
    Mutant(
        "audit: a rule whose keys never name the page is not reported",
        "observe/audit.py",
        "if not _reaches(rule, loaded, result.key, template):",
        "if False:",
    ),
    Mutant(
        "audit: a loaded row is judged by the shape of its rule's keys, not by the keys it renders",
        "observe/audit.py",
        "    if loaded:\n        return all(key in keys_for(obj) for obj in loaded)\n",
        "",
    ),
    Mutant(
        "audit: a field left out of `fields` is not reported",
        "observe/audit.py",
        "for name in sorted(fields_read[model] - set(rule.fields)):",
        "for name in []:",
    ),
    Mutant(
        "audit_reads: columns named outside the select list are not reads",
        "observe/audit_reads.py",
        "for table, columns in _columns(rest, aliases).items():",
        "for table, columns in {}.items():",
    ),
    Mutant(
        "audit_reads: the models keep their recording attributes after the block",
        "observe/audit_reads.py",
        "                if own:\n                    setattr(model, attribute, original)\n"
        "                else:\n                    delattr(model, attribute)\n",
        "                pass\n",
    ),
    Mutant(
        "audit_reads: a proxy registered later takes its concrete model's table",
        "observe/audit_reads.py",
        "        if not model._meta.proxy:\n            found.setdefault(model._meta.db_table, model)\n",
        "        found[model._meta.db_table] = model\n",
    ),
    Mutant(
        "audit_checks: W040 renders pages outside DEBUG though not asked to",
        "observe/audit_checks.py",
        "return bool(settings.DEBUG if asked is None else asked)",
        "return True",
    ),
    Mutant(
        "metrics: a client through a proxy on this host is taken for a local one",
        "observe/metrics.py",
        '    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:\n        return False\n',
        "",
    ),
    Mutant(
        "metrics: any signed-in user may scrape, staff or not",
        "observe/metrics.py",
        "if user is not None and user.is_active and user.is_staff:",
        "if user is not None and user.is_active:",
    ),
    Mutant(
        "metrics: Redis away fails the scrape",
        "observe/metrics.py",
        "        except StoreUnavailable:\n            totals = None\n",
        "        except ZeroDivisionError:\n            totals = None\n",
    ),
    Mutant(
        "freshness: a page stale at first sight is stale, whatever X ms later shows",
        "observe/freshness.py",
        "later = shown_versions(cache_alias, key, variant)",
        "later = shown_before",
    ),
    Mutant(
        "freshness: a page still older than the database X ms later counts as fresh",
        "observe/freshness.py",
        "if later is not None and any(later.get(obj, version) < version for obj, version in expected.items()):",
        "if False:",
    ),
    Mutant(
        "delivery: the writer follows its entries' relations in queries of their own (3 round trips)",
        "delivery/delivery.py",
        "    if follows := follow_queries(get_config(), labels, using):",
        "    if False:",
        database="postgresql",
    ),
    Mutant(
        "affected: relations of rows recorded by their pk alone are taken as read with the entries",
        "delivery/affected.py",
        "        ids -= asked",
        "        ids = set() if read else ids",
        database="postgresql",
    ),
    Mutant(
        "relay: the outbox is left to autovacuum (it grows under steady writes)",
        "delivery/relay.py",
        "        outbox.vacuum(self.using)\n",
        "",
        database="postgresql",
    ),
    Mutant(
        "outbox: a VACUUM that fails breaks the relay's housekeeping",
        "capture/outbox.py",
        "    except DatabaseError as error:  # inside a transaction",
        "    except KeyError as error:  # inside a transaction",
        database="postgresql",
    ),
    Mutant(
        "affected: a key whose values are unhashable breaks the delivery",
        "delivery/affected.py",
        "                except TypeError:  # an unhashable value (a JSON field's list): rendered every time\n"
        "                    pass",
        "                except KeyError:\n                    pass",
    ),
    Mutant(
        "affected: a key many rows share is rendered for each of them",
        "delivery/affected.py",
        "                    if combination in rendered:\n                        continue",
        "                    if combination in ():\n                        continue",
    ),
    Mutant(
        "scripts: the store script stores without its lease (the stale-set guard: an invalidated build is kept)",
        "store/scripts.py",
        "if not lease or string.sub(lease, 1, #mine) ~= mine then return 0 end",
        "if not lease or string.sub(lease, 1, #mine) ~= mine then lease = mine .. (now + 1) end",
    ),
    Mutant(
        "scripts: the release script frees another reader's lease",
        "store/scripts.py",
        "if lease and string.sub(lease, 1, #mine) == mine then redis.call('HDEL', KEYS[1], 'l:' .. ARGV[1]) end",
        "if lease then redis.call('HDEL', KEYS[1], 'l:' .. ARGV[1]) end",
    ),
    Mutant(
        "scripts: a miss builds beside a live lease instead of waiting for it (a stampede)",
        "store/scripts.py",
        "  if deadline and deadline > now then return {'wait', ''} end",
        "",
    ),
    Mutant(
        "scripts: a family takes new variants past MAX_VARIANTS",
        "store/scripts.py",
        "  if redis.call('HLEN', KEYS[1]) >= max_fields then return 0 end",
        "",
    ),
    Mutant(
        "scripts: the read script serves a page past its expiry",
        "store/scripts.py",
        "if got[1] and expires and expires > now then return {'hit', got[1]} end",
        "if got[1] then return {'hit', got[1]} end",
    ),
    Mutant(
        "store: a hit read on a connection that reconnected meanwhile is trusted (its run not known)",
        "store/page_store.py",
        "            if self._run_of.get(connection) is not run:\n                return [None] * len(wanted)",
        "            if False:\n                return [None] * len(wanted)",
    ),
    Mutant(
        "delivery: the writer deletes its outbox entries before Redis has their invalidation",
        "delivery/delivery.py",
        "            affected = deliver(changes, using, followed, acknowledge=ids)\n"
        "            if acknowledging:\n"
        "                acks.note_acknowledged(using, ids)\n"
        "            else:\n"
        "                with purges_queued_with(using, affected.edge):\n"
        "                    outbox.remove_of_this_writer(using, changes, labels)",
        "            if not acknowledging:\n"
        "                outbox.remove_of_this_writer(using, changes, labels)\n"
        "            affected = deliver(changes, using, followed, acknowledge=ids)\n"
        "            if acknowledging:\n"
        "                acks.note_acknowledged(using, ids)",
    ),
    Mutant(
        "delivery: a transaction's writes queue one delivery per statement",
        "delivery/delivery.py",
        "    if has_pending_delivery(connection):\n        return\n",
        "",
    ),
    Mutant(
        "api: suspended() leaves its block's entries for the relay",
        "api.py",
        "        outbox.discard_after(using, start)",
        "        pass",
        database="sqlite",  # PostgreSQL's triggers record none
    ),
    Mutant(
        "receivers: the statement hook is appended to execute_wrappers (an execute_wrapper() block pops it)",
        "delivery/receivers.py",
        "    wrappers.insert(0, _hook)",
        "    wrappers.append(_hook)",
    ),
    Mutant(
        "receivers: a reconnected connection gets a second statement hook",
        "delivery/receivers.py",
        "    for wrapper in [w for w in wrappers if isinstance(w, WatchedWriteHook)]:\n"
        "        wrappers.remove(wrapper)\n",
        "",
    ),
    Mutant(
        "relay: the prune horizon leaves out the lease and the clocks' margin",
        "delivery/relay.py",
        "config.timeout + config.lease_timeout + CLOCK_MARGIN",
        "config.timeout",
    ),
    Mutant(
        "relay: the prune horizon leaves out the lease (a page stored up to a lease after its read)",
        "delivery/relay.py",
        "config.timeout + config.lease_timeout + CLOCK_MARGIN",
        "config.timeout + CLOCK_MARGIN",
    ),
    Mutant(
        "relay: the prune horizon leaves out the margin between the database's and Redis's clocks",
        "delivery/relay.py",
        "config.timeout + config.lease_timeout + CLOCK_MARGIN",
        "config.timeout + config.lease_timeout",
    ),
    Mutant(
        "relay: entries never seen by a relay are never stamped (so never pruned)",
        "delivery/relay.py",
        "    outbox.mark_seen(using)\n",
        "",
    ),
    Mutant(
        "triggers: PostgreSQL's UPDATE records only the new values (old keys from memory or nowhere)",
        "capture/trigger_sql.py",
        "        f\"SELECT {_pg_json(table, 'o')} AS data FROM old_rows o LEFT JOIN new_rows n ON n.{pk} = o.{pk} \"\n"
        "        f\"WHERE n.{pk} IS NULL OR {changed} \"\n"
        "        f\"UNION SELECT {_pg_json(table, 'n')}",
        "        f\"SELECT {_pg_json(table, 'n')}",
        database="postgresql",
    ),
    Mutant(
        "triggers: PostgreSQL's entries do not name their writer (its own delivery finds none)",
        "capture/trigger_sql.py",
        'VALUES ({_literal(label)}, {TEXT}, pg_backend_pid())',
        'VALUES ({_literal(label)}, {TEXT}, 0)',
        database="postgresql",
    ),
    Mutant(
        "outbox: explicit keys on PostgreSQL do not name their writer (its own delivery finds none)",
        "capture/outbox.py",
        'VALUES (%s, %s, pg_backend_pid()) "',
        'VALUES (%s, %s, 0) "',
        database="postgresql",
    ),
    Mutant(
        "outbox: a writer reads (and delivers) other writers' entries",
        "capture/outbox.py",
        # The statement PostgreSQL's writer reads its entries with (their relations in the same one).
        'f"WHERE writer = pg_backend_pid() AND model = ANY(%s) AND id > %s ORDER BY id LIMIT %s) "',
        'f"WHERE model = ANY(%s) AND id > %s ORDER BY id LIMIT %s) "',
        database="postgresql",
    ),
    Mutant(
        "outbox: a writer deletes other writers' undelivered entries older than its own",
        "capture/outbox.py",
        'f"DELETE FROM {OUTBOX_TABLE} WHERE {mine} {of_models} AND id <= %s"',
        'f"DELETE FROM {OUTBOX_TABLE} WHERE {of_models} AND id <= %s"',
        database="postgresql",
    ),
    Mutant(
        "outbox: relays claim entries without locking them (two relays deliver the same ones)",
        "capture/outbox.py",
        '    lock = "FOR UPDATE SKIP LOCKED" if _is_postgres(using) else ""',
        '    lock = ""',
        database="postgresql",
    ),
    Mutant(
        "outbox: the relay's stamp waits for the entries another relay is delivering",
        "capture/outbox.py",
        "WHERE seen_at IS NULL FOR UPDATE SKIP LOCKED)",
        "WHERE seen_at IS NULL FOR UPDATE)",
        database="postgresql",
    ),
    Mutant(
        "conf: a METRICS_NETWORKS entry that is no IP network is accepted (the scrape's check would raise)",
        "conf.py",
        "isinstance(networks, list | tuple) and all(_is_network(network) for network in networks)",
        "isinstance(networks, list | tuple)",
    ),
    Mutant(
        "holes: a marker needs no secret (a visitor's text could be filled as a hole)",
        "holes/markers.py",
        'nonce = salted_hmac("cache_sync.holes", "marker").hexdigest()[:16]',
        'nonce = "0" * 16',
    ),
    Mutant(
        "holes: every visitor's record is under one key (another's nav is served)",
        "holes/visitors.py",
        'return f"{text[:start]}{pk}{text[end + 1 :]}"',
        'return f"{text[:start]}{text[end + 1 :]}"',
    ),
    Mutant(
        "holes: a record built before a write is stored after it (no lease)",
        "holes/visitors.py",
        "key, RECORD_VARIANT, json.dumps(record).encode(), token=token, ttl_ms=int(config.timeout * 1000)",
        "key, RECORD_VARIANT, json.dumps(record).encode(), token=\"\", ttl_ms=int(config.timeout * 1000)",
    ),
    Mutant(
        "holes: a filled page keeps the shared copy's ETag",
        "holes/markers.py",
        'if response.has_header("ETag"):\n        del response["ETag"]',
        "",
    ),
    Mutant(
        "holes: a page that used a token does not set the CSRF cookie",
        "holes/markers.py",
        "    if visitor.csrf.used:\n",
        "    if False:\n",
    ),
    Mutant(
        "csrf_holes: a token is masked from a new secret, not the visitor's own",
        "holes/csrf.py",
        "self._secret = self._known or _secret_of_cookie(self._cookie) or random_chars()",
        "self._secret = random_chars()",
    ),
    Mutant(
        "templatetags: the shared copy is built with the first visitor's parts in place",
        "templatetags/cache_sync_holes.py",
        "if request is not None and getattr(request, MARKING, False):",
        "if False:",
    ),
    Mutant(
        "pages: signed-in visitors of a page with holes get copies of their own",
        "pages/decorator.py",
        "            if self.holes:\n                visitor = SHARED_VISITOR\n            elif self.vary_on_user:",
        "            if self.vary_on_user:",
    ),
    Mutant(
        "page_read: a shared copy's hit is served unfilled",
        "pages/page_read.py",
        "        if self.shares_holes:\n            return self._fill(request, response)",
        "        if False:\n            return self._fill(request, response)",
    ),
    Mutant(
        "signed_in: a session from before a password change is served before Django",
        "holes/signed_in.py",
        "if not constant_time_compare(session_hash, record[\"hash\"]):",
        "if False:",
    ),
    Mutant(
        "signed_in: a page another build stored meanwhile is not filled for the visitor",
        "holes/signed_in.py",
        "    if read.status == \"hit\":\n        read.visitor = visitor\n",
        "",
    ),
    Mutant(
        "signed_in: a deactivated visitor is served before Django",
        "holes/signed_in.py",
        'if record is None or not record["active"]:',
        "if record is None:",
    ),
    Mutant(
        "signed_in: a session that holds data is served the shared copy",
        "holes/signed_in.py",
        "not UNSHOWN_KEYS.issuperset(data.keys()) or data.get(BACKEND_SESSION_KEY)",
        "data.get(BACKEND_SESSION_KEY)",
    ),
    Mutant(
        "delivery: a delivery of several round trips acknowledges in each, before its last families",
        "delivery/delivery.py",
        "        sent += store.invalidate(chunk, **at)\n",
        "        sent += store.invalidate(chunk, **at, acknowledge=(name, acknowledge) if acknowledge else None)\n",
    ),
    Mutant(
        "page_read: a signed-in hit before Django is not marked private",
        "pages/page_read.py",
        "    keep_private(response)\n    mark_filled(response, csrf_used=csrf_used)",
        "    mark_filled(response, csrf_used=csrf_used)",
    ),
    Mutant(
        "page_read: a signed-in hit before Django keeps the shared copy's length",
        "pages/page_read.py",
        '(name, length if name == "Content-Length" else value)',
        "(name, value)",
    ),
    Mutant(
        "page_read: a signed-in hit before Django sets no CSRF cookie",
        "pages/page_read.py",
        '            headers.append(("Set-Cookie", csrf_cookie_header(visitor.csrf.secret)))',
        "            pass",
    ),
    Mutant(
        "signed_in: a signed-in hit is answered before Django with CSRF_USE_SESSIONS",
        "holes/signed_in.py",
        "    if known.csrf_use_sessions:",
        "    if False:",
    ),
    Mutant(
        "signed_in: a signed-in hit is answered before Django with SESSION_SAVE_EVERY_REQUEST",
        "holes/signed_in.py",
        "    if known.session_save_every_request:",
        "    if False:",
    ),
    Mutant(
        "page_read: the CSRF cookie before Django keeps the expiry of the second it was first made",
        "pages/page_read.py",
        "_csrf_cookie_around_secret(int(time.time()), request_settings())",
        "_csrf_cookie_around_secret(0, request_settings())",
    ),
    Mutant(
        "apps: the settings a hit reads before Django are kept through a settings change",
        "apps.py",
        "    request_settings.cache_clear()  # any setting: it keeps a dozen of Django's\n",
        "",
    ),
    Mutant(
        "relay: a round delivers until a claim finds nothing (under steady writes it never beats or vacuums)",
        "delivery/relay.py",
        "        if claimed < CLAIM_LIMIT:\n            return delivered, True\n",
        "        if claimed == 0:\n            return delivered, True\n",
    ),
    Mutant(
        "relay: a round works through a whole backlog before it beats",
        "delivery/relay.py",
        "        if time.monotonic() >= deadline:\n            return delivered, False\n",
        "",
    ),
    Mutant(
        "relay: a round that left a backlog waits for a notification before the next",
        "delivery/relay.py",
        "        if self.behind:\n            return",
        "        if False:\n            return",
    ),
    Mutant(
        "relay: a round cut short by its backlog says it caught up",
        "delivery/relay.py",
        "            if caught_up:\n                self.caught_up_at = timezone.now()\n",
        "            self.caught_up_at = timezone.now()\n",
    ),
    Mutant(
        "checks: settings that leave signed-in hits to Django raise no warning",
        "checks.py",
        "    if not reasons or not _has_pages_with_holes():",
        "    if True:",
    ),
    Mutant(
        "signed_in: a signed cookie verified once is honoured past its age",
        "holes/signed_in.py",
        "return login if time.time() <= expires_at else None",
        "return login",
    ),
    Mutant(
        "signed_in: a malformed CSRF cookie is kept before Django",
        "holes/csrf.py",
        "return cookie is None or _secret_of_cookie(cookie) is not None",
        "return True",
    ),
    Mutant(
        "store: a signed-in hit reads the visitor's record and the page in two round trips",
        "store/page_store.py",
        "return self._fresh_pages([(self.family(key), variant) for key, variant in wanted])",
        "return [self._fresh_pages([(self.family(key), variant)])[0] for key, variant in wanted]",
    ),
    Mutant(
        "checks: pages with holes pass without a rule for the visitors' records",
        "checks.py",
        "if rule is not None and config.visitor_key in {template.text for template in rule.keys}:",
        "if True:",
    ),
    Mutant(
        "affected: a key naming the pk by its field loads the renamed row's new values as its old ones",
        "delivery/affected.py",
        'needed = {_model_field(model, path[0]).attname for t in rule.keys for path in t.paths} - {"pk", pk_name}',
        'needed = {_model_field(model, path[0]).attname for t in rule.keys for path in t.paths} - {"pk"}',
    ),
    Mutant(
        "delivery: the relay delivers again the entries their writer acknowledged",
        "delivery/delivery.py",
        "    unacknowledged = [change for change in changes if change.id not in acknowledged]",
        "    unacknowledged = changes",
    ),
    Mutant(
        "delivery: the relay never forgets the acknowledgements it used",
        "delivery/delivery.py",
        "    return deliver(unacknowledged, using, forget=acknowledged)",
        "    return deliver(unacknowledged, using)",
    ),
    Mutant(
        "delivery: a writer whose Redis call failed counts its entries as acknowledged",
        "delivery/delivery.py",
        "            affected = deliver(changes, using, followed, acknowledge=ids)\n"
        "            if acknowledging:\n"
        "                acks.note_acknowledged(using, ids)\n"
        "            else:\n",
        "            if acknowledging:\n"
        "                acks.note_acknowledged(using, ids)\n"
        "            affected = deliver(changes, using, followed, acknowledge=ids)\n"
        "            if not acknowledging:\n",
    ),
    Mutant(
        "delivery: a writer reads again the entries it acknowledged",
        "delivery/delivery.py",
        "    after = acks.acknowledged_through(using)",
        "    after = 0",
    ),
    Mutant(
        "store: the acknowledgement is sent before the invalidations of its pipeline",
        "store/page_store.py",
        "            pipe = client.pipeline(transaction=False)\n"
        "            for start in range(0, len(families), UNLINK_BATCH):",
        "            pipe = client.pipeline(transaction=False)\n"
        "            if acknowledge and acknowledge[1]:\n"
        "                pipe.zadd(acknowledge[0], dict.fromkeys(map(str, acknowledge[1]), 0))\n"
        "                acknowledge = None\n"
        "            for start in range(0, len(families), UNLINK_BATCH):",
    ),
    Mutant(
        "relay: acknowledgements left behind are never pruned",
        "delivery/relay.py",
        "            acks.forget_old(self.using)",
        "            pass",
    ),
    Mutant(
        "acks: one database's acknowledgements are another's (same alias, other database)",
        "delivery/acks.py",
        '    where = "|".join(str(settings.get(part) or "") for part in ("ENGINE", "HOST", "PORT", "NAME"))',
        '    where = ""',
    ),
    Mutant(
        "edge: a page names no surrogate key",
        "pages/page_read.py",
        "mark(add_surrogate_keys(response, self.key), \"miss\")",
        "mark(response, \"miss\")",
    ),
    Mutant(
        "edge: the writer's delivery queues no purge",
        "delivery/delivery.py",
        "                with purges_queued_with(using, affected.edge):\n"
        "                    outbox.remove_of_this_writer(using, changes, labels)",
        "                with purges_queued_with(using, []):\n"
        "                    outbox.remove_of_this_writer(using, changes, labels)",
    ),
    Mutant(
        "edge: the relay's delivery queues no purge",
        "delivery/delivery.py",
        "        outbox.remove(using, changes)\n        queue_purges(using, affected.edge)",
        "        outbox.remove(using, changes)",
    ),
    Mutant(
        "edge: the relay runs no purger",
        "delivery/relay.py",
        "with purging(using, should_stop):",
        "with contextlib.nullcontext():",
    ),
    Mutant(
        "edge queue: a purge in flight forgets the key queued again by a later write",
        "edge/queue.py",
        "'(key = %s AND stamp = %s)'",
        "'(key = %s AND (stamp = %s OR 1 = 1))'",
    ),
    Mutant(
        "edge purger: keys are forgotten before the edge took them",
        "edge/purger.py",
        "        backend.purge([key for key, _stamp in rows])\n        queue.forget(using, rows)",
        "        queue.forget(using, rows)\n        backend.purge([key for key, _stamp in rows])",
    ),
    Mutant(
        "edge transport: a 5xx is not sent again",
        "edge/transport.py",
        "elif error.code < 500:",
        "else:",
    ),
    Mutant(
        "edge transport: a 429 is not sent again",
        "edge/transport.py",
        "if error.code == 429:",
        "if error.code == 0:",
    ),
    Mutant(
        "edge backends: Fastly's batches exceed its 256 keys",
        "edge/backends.py",
        'header = "Surrogate-Key"\n    batch = 256\n',
        'header = "Surrogate-Key"\n    batch = 1000\n',
    ),
    Mutant(
        "edge backends: Cloudflare's batches exceed its 100 tags",
        "edge/backends.py",
        "    batch = 100\n",
        "    batch = 1000\n",
    ),
    Mutant(
        "edge backends: Varnish's purge header exceeds its limit",
        "edge/backends.py",
        "if batch and size + len(key) + 1 > self.MAX_HEADER:",
        "if False:",
    ),
    Mutant(
        "conf: an EDGE HEADER that is no header name is accepted",
        "conf.py",
        "(header and not _HEADER_NAME.fullmatch(header))",
        "False",
    ),
    Mutant(
        "delivery: a writer acknowledges in Redis while an edge backend is set (its purges then queued nowhere)",
        "delivery/delivery.py",
        "    if config.edge is not None and config.edge.backend:\n        return False\n",
        "",
    ),
    Mutant(
        "relay_wait: a writer cut off from Redis answers without waiting for the live relay",
        "delivery/delivery.py",
        "            if wait_for_relay(using, undelivered, get_config().relay_wait):",
        "            if False:",
    ),
    Mutant(
        "relay_wait: a writer waits for a relay whose last round failed (every write slowed in an outage)",
        "delivery/relay_wait.py",
        "    if beat is None or beat.error:",
        "    if beat is None:",
    ),
    Mutant(
        "relay_wait: a writer waits for a relay that stopped beating long ago",
        "delivery/relay_wait.py",
        "    return beat.beat_at >= timezone.now() - timedelta(seconds=ALIVE_WITHIN)",
        "    return True",
    ),
    Mutant(
        "followed: a path the trigger follows is read without locking its row (a rename commits meanwhile)",
        "capture/followed.py",
        "AS q(k, v) FOR SHARE SKIP LOCKED) AS f)",
        "AS q(k, v)) AS f)",
        database="postgresql",
    ),
    Mutant(
        "followed: a REPEATABLE READ writer locks followed rows too (its statement fails on a row changed since)",
        "capture/followed.py",
        "f\"CASE WHEN current_setting('transaction_isolation') = 'read committed' THEN \"",
        "f\"CASE WHEN TRUE THEN \"",
        database="postgresql",
    ),
    Mutant(
        "followed: a row another transaction holds is left out of the told pairs, not made null",
        "capture/followed.py",
        "f\"(SELECT CASE WHEN count(*) = (SELECT count(DISTINCT {element}) FROM {rows}) \"",
        "f\"(SELECT CASE WHEN TRUE OR count(*) = (SELECT count(DISTINCT {element}) FROM {rows}) \"",
        database="postgresql",
    ),
    Mutant(
        "own_entries: a path one entry could not follow is kept from the others' told pairs",
        "delivery/own_entries.py",
        "    for key in incomplete:\n        followed.pop(key, None)",
        "",
        database="postgresql",
    ),
    Mutant(
        "own_entries: a rolled-back transaction's told entries stay for the next delivery",
        "delivery/own_entries.py",
        "        rollback()\n        marks.clear()\n"
        "        if (notices := _told()) is not None:\n            notices.told.clear()",
        "        rollback()",
        database="postgresql",
    ),
    Mutant(
        "own_entries: a rolled-back savepoint's told entries stay",
        "delivery/own_entries.py",
        "            del notices.told[marks[sid] :]",
        "            pass",
        database="postgresql",
    ),
    Mutant(
        "own_entries: a delivery that failed does not make the next one read back",
        "delivery/own_entries.py",
        "        notices.told.clear()\n        notices.overflowed = True\n",
        "        notices.told.clear()\n",
        database="postgresql",
    ),
    Mutant(
        "own_entries: explicit keys pass for every entry in a session whose triggers tell nothing",
        "delivery/own_entries.py",
        "    if session_tells and not notices.overflowed:",
        "    if not notices.overflowed:",
        database="postgresql",
    ),
    Mutant(
        "own_entries: entries told after an overflow are kept (and pass for all of them)",
        "delivery/own_entries.py",
        "        if not self.overflowed:\n            self.told.append(",
        "        if True:\n            self.told.append(",
        database="postgresql",
    ),
    Mutant(
        "own_entries: connections never ask to be told (every writer reads back)",
        "delivery/own_entries.py",
        "    if get_config().writer_notices:\n        params[",
        "    if False:\n        params[",
        database="postgresql",
    ),
    Mutant(
        "triggers: an operation on a followed table leaves the triggers that read it naming its columns",
        "capture/triggers.py",
        "    readers = {trigger.name for trigger in triggers_for(connection.alias) if table in trigger.reads}",
        "    readers: set[str] = set()",
        database="postgresql",
    ),
]  # fmt: skip


KILLERS = ROOT / "tools" / "mutant_killers.json"  # per database: the test that last killed each mutant


def stale_mutants(mutants: list[Mutant]) -> str:
    """Every mutant whose original text its file does not hold exactly once, one per line (before any run)."""
    lines = []
    for mutant in mutants:
        found = (ROOT / "cache_sync" / mutant.path).read_text().count(mutant.original) if mutant.original else 1
        if found != 1:
            lines.append(f"  {mutant.name} ({mutant.path}: found {found} times)")
    return "\n".join(lines)


def prepare_copy(mutant: Mutant, workdir: Path) -> Path:
    copy = workdir / "cache_sync"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(ROOT / "cache_sync", copy, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build"))
    target = copy / mutant.path
    text = target.read_text()
    if mutant.original and text.count(mutant.original) != 1:
        raise SystemExit(
            f"mutant {mutant.name!r}: its text is not found once in {mutant.path}; update tools/mutants.py"
        )
    if mutant.original:
        target.write_text(text.replace(mutant.original, mutant.broken))
    return copy


def run_tests(copy: Path, workdir: Path, targets: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    """pytest's exit code on the copy's suite (or some of its tests), and the first failing test."""
    pytest = [sys.executable, "-m", "pytest", "-x", "-rfE", "-p", "no:cacheprovider", "--rootdir", str(copy)]
    pytest.append("--ds=cache_sync.tests.settings")  # whatever the shell exports
    # The repository after the copy: the tests start servers with tools.harness.
    env = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)])}
    result = subprocess.run(
        [*pytest, "-c", str(copy / "pyproject.toml"), *(str(copy / target) for target in targets)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    # The summary's lines ("FAILED cache_sync/tests/...::test"), not a captured log line at level ERROR.
    failed = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR")) and "::" in line]
    last_lines = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
    return result.returncode, failed[0] if failed else last_lines[0]


def killing_test(line: str) -> str | None:
    """'FAILED cache_sync/tests/test_x.py::test_y[a b] - ...' -> 'tests/test_x.py::test_y'.

    The whole test function (every parametrisation): a parameter's id may hold spaces."""
    parts = line.split()
    if len(parts) > 1 and parts[1].startswith("cache_sync/tests/") and "::" in parts[1]:
        return parts[1].removeprefix("cache_sync/").split("[", 1)[0]
    return None


def run_mutant(mutant: Mutant, workdir: Path, killer: str | None, env: dict[str, str]) -> tuple[bool, str]:
    """(killed, the first failing test or the reason) for one mutant.

    The test that killed it last time runs first: when it fails (pytest's code 1, a test failed),
    the suite fails, and the rest need not run. Otherwise the whole suite decides."""
    copy = prepare_copy(mutant, workdir)
    if killer:
        code, why = run_tests(copy, workdir, [killer], env)
        if code == 1 and killing_test(why):
            return True, why
    code, why = run_tests(copy, workdir, ["tests"], env)
    return code != 0, why


CONTROL = Mutant("control: the copy unchanged must pass", "pages/decorator.py", "", "")


def suite_database() -> str:
    return "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"


def load_killers() -> dict[str, dict[str, str]]:
    return json.loads(KILLERS.read_text()) if KILLERS.exists() else {}


def record_killers(all_killers: dict[str, dict[str, str]], database: str, killers: dict[str, str]) -> None:
    KILLERS.write_text(json.dumps({**all_killers, database: dict(sorted(killers.items()))}, indent=1) + "\n")


def test_exists(test: str) -> bool:
    """Whether 'tests/test_x.py::test_y' is still a test of the suite (a renamed one is forgotten)."""
    path, *_, name = test.split("::")  # a test of a class: tests/test_x.py::TestZ::test_y
    source = ROOT / "cache_sync" / path
    return source.is_file() and f"def {name}(" in source.read_text()


def job_env(job: int) -> dict[str, str]:
    """What keeps parallel suites apart: each job's PostgreSQL test databases are its own (SQLite's
    are named by process, Redis keys by a prefix of each process's own)."""
    url = os.environ.get("DATABASE_URL", "")
    return {"DATABASE_URL": f"{url}_m{job}"} if url.startswith("postgres") else {}


def jobs() -> int:
    """Parallel mutants (MUTANT_JOBS): most of a suite's time is spent waiting on servers and timeouts."""
    return max(1, int(os.environ.get("MUTANT_JOBS", "3")))


def main(words: list[str]) -> int:
    database = suite_database()
    all_killers = load_killers()
    killers = all_killers.get(database, {})
    mutants = [mutant for mutant in MUTANTS if mutant.database in ("", database)]
    if stale := stale_mutants(MUTANTS):
        raise SystemExit("Mutants whose text is not found once in their file (update tools/mutants.py):\n" + stale)
    if words:
        mutants = [mutant for mutant in mutants if any(word in f"{mutant.path} {mutant.name}" for word in words)]
    with tempfile.TemporaryDirectory(prefix="cache-sync-mutants-") as tmp:
        copy = prepare_copy(CONTROL, Path(tmp))
        # A filtered run checks, unchanged, only the tests recorded as killing its mutants (if all are known).
        chosen = {killers.get(mutant.name) for mutant in mutants}
        control = sorted(chosen) if words and None not in chosen else ["tests"]
        code, why = run_tests(copy, Path(tmp), control, job_env(0))
        if code != 0:
            raise SystemExit(f"The unchanged copy fails its suite, so mutants prove nothing: {why}")
        killers = {name: test for name, test in killers.items() if test_exists(test)}
        recorded = sorted({killers[mutant.name] for mutant in mutants if mutant.name in killers})
        if recorded and run_tests(copy, Path(tmp), recorded, job_env(0))[0] != 0:
            print("The recorded killing tests do not all pass unchanged (renamed?): each mutant runs its suite")
            killers = {}
        # A mutant not yet killed on this database first tries the other database's killer.
        elsewhere = {
            name: test for other, tests in all_killers.items() if other != database for name, test in tests.items()
        }
        record = threading.Lock()

        def learnt() -> None:
            with record:
                record_killers(all_killers, database, killers)

        survivors = run_all(mutants, Path(tmp), {**elsewhere, **killers}, killers, learnt)
    print(f"{len(mutants) - survivors} of {len(mutants)} mutants killed on {database}.")
    return 1 if survivors else 0


def run_all(
    mutants: list[Mutant], tmp: Path, first_tests: dict[str, str], killers: dict[str, str], learnt: Callable[[], None]
) -> int:
    """Run the mutants over jobs() workers, each in a directory and on test databases of its own;
    the number that survived."""
    free = queue.Queue[int]()
    for job in range(1, jobs() + 1):
        free.put(job)

    def one(mutant: Mutant) -> tuple[Mutant, bool, str]:
        job = free.get()
        try:
            workdir = tmp / f"job{job}"
            workdir.mkdir(exist_ok=True)
            return (mutant, *run_mutant(mutant, workdir, first_tests.get(mutant.name), job_env(job)))
        finally:
            free.put(job)

    survivors = 0
    with ThreadPoolExecutor(max_workers=jobs()) as pool:
        for mutant, killed, why in pool.map(one, mutants):
            survivors += not killed
            if killed and (test := killing_test(why)):
                killers[mutant.name] = test
            print(f"{'killed  ' if killed else 'SURVIVED'}  {mutant.name}\n          {why}", flush=True)
            learnt()  # after each: an interrupted run keeps what it learnt
    return survivors


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
