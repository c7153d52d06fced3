"""Break cache_sync on purpose, one guard at a time, and check that its own suite notices.

    python -m tools.mutants            # every mutant; exits 1 if one survives

Each mutant is a text replacement in a copy of the package (the working tree is
never touched); the copy's suite must fail. A guard whose removal no test notices
is a guard nobody checks.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    original: str
    broken: str


MUTANTS = [
    Mutant(
        "storable: a response that sets a cookie is stored",
        "storable.py",
        'if response.cookies or request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):',
        'if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):',
    ),
    Mutant(
        "storable: a response that is not 200 is stored",
        "storable.py",
        "if response.status_code != 200 or response.streaming:",
        "if response.streaming:",
    ),
    Mutant(
        "scripts: a lease's family never expires (read script)",
        "scripts.py",
        "if redis.call('PTTL', KEYS[1]) < lease_ms then redis.call('PEXPIRE', KEYS[1], lease_ms) end",
        "",
    ),
    Mutant(
        "scripts: a stored page's family never expires (store script)",
        "scripts.py",
        "if redis.call('PTTL', KEYS[1]) < ttl_ms then redis.call('PEXPIRE', KEYS[1], ttl_ms) end",
        "",
    ),
    Mutant(
        "scripts: a page stored after its lease expired is kept",
        "scripts.py",
        "if tonumber(string.sub(lease, #mine + 1)) <= now then return 0 end",
        "",
    ),
    Mutant(
        "scripts: a Redis restored from a snapshot serves the old run's pages",
        "scripts.py",
        "if stored_run and stored_run ~= run then redis.call('DEL', KEYS[1]) end",
        "",
    ),
    Mutant(
        "store: the one-HMGET hit serves a page stored by another run of the server",
        "store.py",
        "if page is None or stored_run != run or int(expires) <= time.time() * 1000:",
        "if page is None or int(expires) <= time.time() * 1000:",
    ),
    Mutant(
        "store: a connection keeps the run id it learnt after it reconnects",
        "store.py",
        "connection.register_connect_callback(self._forget_run)",
        "pass",
    ),
    Mutant(
        "store: the one-HMGET hit serves a page past its expiry",
        "store.py",
        "if page is None or stored_run != run or int(expires) <= time.time() * 1000:",
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
        "delivery.py",
        "keys_invalidated.send_robust(",
        "keys_invalidated.send(",
    ),
    Mutant(
        "delivery: the callback queues behind the others (a failing one drops it)",
        "delivery.py",
        "connection.run_on_commit.insert(0, (set(connection.savepoint_ids), callback, True))",
        "connection.run_on_commit.append((set(connection.savepoint_ids), callback, True))",
    ),
    Mutant(
        "triggers: an UPDATE records only the new values (old keys from memory or nowhere)",
        "triggers.py",
        '                _sqlite_insert(label, _sqlite_json(watched, "OLD")),\n'
        '                _sqlite_insert(label, _sqlite_json(watched, "NEW"), f" WHERE {_sqlite_changed(keys)}"),',
        '                _sqlite_insert(label, _sqlite_json(watched, "NEW")),',
    ),
    Mutant(
        "pages: with the front door, the decorator stores before the other middleware ran",
        "pages.py",
        "    if getattr(request, \"_cache_sync_front_door\", False):\n        request._cache_sync_read = read",
        "    if False:\n        request._cache_sync_read = read",
    ),
    Mutant(
        "front door: an answer from a middleware, not the view, is stored as the page",
        "front_door.py",
        'if getattr(request, "_cache_sync_view_ran", False):',
        "if True:",
    ),
    Mutant(
        "storable: a Vary header the variant does not key on is ignored",
        "storable.py",
        'if "*" in vary or vary - {"cookie"} - keyed_headers:',
        'if "*" in vary:',
    ),
    Mutant(
        "pages: the variant leaves out the URL pattern",
        "pages.py",
        'return "|".join([route, visitor, urlencode(query), *headers])',
        'return "|".join([visitor, urlencode(query), *headers])',
    ),
    Mutant(
        "pages: a signed-in variant leaves out the visitor's name",
        "pages.py",
        'visitor = f"u{user.pk}.{user_fingerprint(user)}"',
        'visitor = f"u{user.pk}"',
    ),
    Mutant(
        "pages: signed-in pages are not marked private",
        "pages.py",
        "    if read.signed_in:\n        patch_cache_control(response, private=True)",
        "    if False:\n        patch_cache_control(response, private=True)",
    ),
    Mutant(
        "breaker: no circuit breaker (every request waits out a paused Redis)",
        "breaker.py",
        "    def __enter__(self) -> None:\n        breaker.check()",
        "    def __enter__(self) -> None:\n        pass",
    ),
    Mutant(
        "pages: a reader that saw Redis fail serves hits again without delivering the outbox first",
        "pages.py",
        "        if breaker.owes_catch_up:\n            catch_up()",
        "",
    ),
    Mutant(
        "scripts: expired variants are never removed from a family",
        "scripts.py",
        "redis.call('HDEL', KEYS[1], name, 'b:' .. string.sub(name, 3))",
        "",
    ),
    Mutant(
        "storable: a page built inside a writing transaction is stored",
        "storable.py",
        "    if writes_pending():",
        "    if False:",
    ),
    Mutant(
        "pages: a lease taken while a transaction holds an older snapshot stores its page",
        "pages.py",
        'older = result.status == "build" and snapshot_taken()',
        "older = False",
    ),
    Mutant(
        "storable: a SQLite transaction open at the lease is taken for one without a snapshot",
        "storable.py",
        "        return connection.connection.in_transaction",
        "        return False",
    ),
    Mutant(
        "storable: a REPEATABLE READ transaction that has not read yet counts as holding a snapshot",
        "storable.py",
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
        "pages.py",
        "if user is not None and user.is_authenticated and not read.signed_in:",
        "if user is not None and user.is_authenticated:",
    ),
    Mutant(
        "scripts: a page read from a replica behind the family's invalidation is stored",
        "scripts.py",
        "  if ARGV[7] ~= '' and w and ARGV[7] < w then return 0 end",
        "",
    ),
    Mutant(
        "scripts: a late delivery lowers the family's invalidation position",
        "scripts.py",
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
]  # fmt: skip


def run_mutant(mutant: Mutant, workdir: Path) -> tuple[bool, str]:
    """(killed, the first failing test or the reason) for one mutant."""
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
    pytest = [sys.executable, "-m", "pytest", "-x", "-rfE", "-p", "no:cacheprovider", "--rootdir", str(copy)]
    # The repository after the copy: the tests start servers with tools.harness.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)])}
    result = subprocess.run(
        [*pytest, "-c", str(copy / "pyproject.toml"), str(copy / "tests")],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    failed = [line for line in result.stdout.splitlines() if line.startswith(("FAILED", "ERROR"))]
    last_lines = result.stdout.strip().splitlines()[-1:] or ["(no output)"]
    return result.returncode != 0, failed[0] if failed else last_lines[0]


CONTROL = Mutant("control: the copy unchanged must pass", "pages.py", "", "")


def main() -> int:
    survivors = 0
    with tempfile.TemporaryDirectory(prefix="cache-sync-mutants-") as tmp:
        failed, why = run_mutant(CONTROL, Path(tmp))
        if failed:
            raise SystemExit(f"The unchanged copy fails its suite, so mutants prove nothing: {why}")
        for mutant in MUTANTS:
            killed, why = run_mutant(mutant, Path(tmp))
            survivors += not killed
            print(f"{'killed  ' if killed else 'SURVIVED'}  {mutant.name}\n          {why}", flush=True)
    print(f"{len(MUTANTS) - survivors} of {len(MUTANTS)} mutants killed.")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
