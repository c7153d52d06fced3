"""`settings.CACHE_SYNC`, read once into immutable objects (reset on `setting_changed`), and the
Django settings a hit answered before Django reads (`request_settings`).

Parsing never raises: what is wrong is kept as `problems`, which the system
checks report, and rules with problems are left out of `rules`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from types import MappingProxyType
from urllib.parse import urlsplit

from django.conf import settings

from .keys import KeyTemplate, TemplateSyntaxError

ACTIONS = ("invalidate", "rebuild")
STRATEGIES = ("sync", "naive", "ttl")
# A hook for load tests, outside CACHE_SYNC on purpose: "naive" (plain cache-aside, invalidated after
# commit, no leases) and "ttl" (no invalidation) are the baselines cache_sync is measured against.
BASELINE_SETTING = "CACHE_SYNC_LOAD_TEST_BASELINE"
OPTIONS = (
    "CACHE",
    "TIMEOUT",
    "LEASE_TIMEOUT",
    "LEASE_WAIT",
    "BASE_URL",
    "USER_FIELDS",
    "VISITOR_KEY",
    "MAX_VARIANTS",
    "REDIS_BACKOFF",
    "REPLICAS",
    "READ_YOUR_WRITES",
    "RELAY_WAIT",
    "WRITER_NOTICES",
    "RULES",
    "METRICS_PATH",
    "METRICS_NETWORKS",
    "AUDIT_CHECK",
    "AUDIT_IGNORE",
    "FRESHNESS_WITHIN_MS",
    "EDGE",
)
EDGE_OPTIONS = ("BACKEND", "OPTIONS", "HEADER")
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # an HTTP token (RFC 9110 5.6.2)
RULE_OPTIONS = ("action", "keys", "related", "fields")


@dataclass(frozen=True)
class Problem:
    id: str
    message: str
    hint: str = ""


@dataclass(frozen=True)
class Rule:
    model: str  # "app_label.ModelName"
    action: str
    keys: tuple[KeyTemplate, ...]
    related: tuple[tuple[str, tuple[KeyTemplate, ...]], ...] = ()
    fields: tuple[str, ...] | None = None  # the fields whose change matters (None: every field)

    @property
    def rebuilds(self) -> bool:
        return self.action == "rebuild"


@dataclass(frozen=True)
class EdgeSettings:
    """CACHE_SYNC["EDGE"]: who purges the edge (edge/backends.py), and the header naming a page's keys."""

    backend: str = ""  # dotted path of an EdgeBackend; "" names keys in the header and purges nothing
    # Left out of the hash (a Config is a cache key on PostgreSQL's delivery path); lists inside.
    options: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}), hash=False)
    header: str = ""


@dataclass(frozen=True)
class Config:
    cache_alias: str = "default"
    timeout: int = 600
    strategy: str = "sync"
    lease_timeout: float = 5.0  # a builder that died frees its lease after this
    lease_wait: float = 2.0  # how long a reader waits for another's build
    base_url: str = ""  # scheme and host of the requests cache_sync builds (rebuild, warm, verify)
    user_fields: tuple[str, ...] = ()  # user fields the pages show a signed-in visitor (default: the username)
    visitor_key: str = (
        "visitor:{id}"  # the key of a signed-in visitor's record, its one placeholder their pk (cache_sync/holes/)
    )
    max_variants: int = 256  # per family: more variants are served, not stored
    redis_backoff: float = 1.0  # after a Redis error, this process skips Redis for this long (seconds)
    replicas: tuple[tuple[str, str], ...] = ()  # (replica alias, its primary's alias): see replicas.py
    read_your_writes: float = 60.0  # seconds a writer's reads may go to the primary while replicas lag
    relay_wait: float = 1.0  # seconds a writer that could not reach Redis waits for a live relay (0: never)
    writer_notices: bool = True  # PostgreSQL: triggers tell the writer its entries (delivery/own_entries.py)
    rules: tuple[Rule, ...] = ()
    # The cache seen from outside (metrics.py, audit.py, freshness.py): read when used, never on the hot path.
    metrics_path: str = "metrics"  # served by cache_sync.urls
    metrics_networks: tuple[str, ...] = ("127.0.0.0/8", "::1/128")  # clients allowed besides staff (no proxy)
    audit_check: bool | None = None  # run the rule audit as system check W040: None means when DEBUG
    audit_ignore: tuple[str, ...] = ()  # "app_label.Model" or "app_label.Model.field" reads the audit accepts
    freshness_within_ms: float = 1000.0  # the monitor's "fresh within X ms"
    edge: EdgeSettings | None = None  # a CDN or Varnish in front (edge/): None when there is none
    problems: tuple[Problem, ...] = field(default=())

    @property
    def guarded(self) -> bool:
        """Stale-set and stampede guards on fills, and invalidation after commit."""
        return self.strategy == "sync"

    @property
    def invalidates(self) -> bool:
        return self.strategy != "ttl"

    @cached_property
    def rules_by_model(self) -> dict[str, Rule]:
        return {rule.model: rule for rule in self.rules}


@cache
def get_config() -> Config:
    return parse(getattr(settings, "CACHE_SYNC", {}))


def reset(*, setting: str = "", **kwargs: object) -> None:
    if setting in ("", "CACHE_SYNC", "CACHES", BASELINE_SETTING):
        get_config.cache_clear()


@dataclass(frozen=True, eq=False)  # eq=False: hashed by identity, a cheap key for what is cached per settings
class RequestSettings:
    """The Django settings the front door reads on every hit, read once: a lookup through
    `django.conf.settings` costs more than the rest of some of a hit's steps. (The CSRF cookie's
    other attributes are read by `set_csrf_cookie`, once a second.)"""

    session_cookie: str
    session_engine: str
    session_cookie_age: int
    session_save_every_request: bool
    secret_key: str = field(repr=False)  # never in a log line
    authentication_backends: tuple[str, ...]
    csrf_cookie: str
    csrf_use_sessions: bool
    csrf_cookie_age: int | None


@cache
def request_settings() -> RequestSettings:
    return RequestSettings(
        session_cookie=settings.SESSION_COOKIE_NAME,
        session_engine=settings.SESSION_ENGINE,
        session_cookie_age=settings.SESSION_COOKIE_AGE,
        session_save_every_request=settings.SESSION_SAVE_EVERY_REQUEST,
        secret_key=settings.SECRET_KEY,
        authentication_backends=tuple(settings.AUTHENTICATION_BACKENDS),
        csrf_cookie=settings.CSRF_COOKIE_NAME,
        csrf_use_sessions=settings.CSRF_USE_SESSIONS,
        csrf_cookie_age=settings.CSRF_COOKIE_AGE,
    )


def parse(raw: object) -> Config:
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        return Config(problems=(Problem("cache_sync.E001", "CACHE_SYNC must be a dict."),))
    for name in raw.keys() - set(OPTIONS):
        problems.append(Problem("cache_sync.E001", f"CACHE_SYNC has an unknown option {name!r}.", _one_of(OPTIONS)))
    values = {
        "cache_alias": raw.get("CACHE", "default"),
        "timeout": raw.get("TIMEOUT", 600),
        # Not a CACHE_SYNC option: the load test's baselines turn the guarantees off (BASELINE_SETTING).
        "strategy": getattr(settings, BASELINE_SETTING, "sync"),
        "lease_timeout": raw.get("LEASE_TIMEOUT", 5.0),
        "lease_wait": raw.get("LEASE_WAIT", 2.0),
        "base_url": raw.get("BASE_URL", ""),
        "user_fields": raw.get("USER_FIELDS", ()),
        "visitor_key": raw.get("VISITOR_KEY", "visitor:{id}"),
        "max_variants": raw.get("MAX_VARIANTS", 256),
        "redis_backoff": raw.get("REDIS_BACKOFF", 1.0),
        "read_your_writes": raw.get("READ_YOUR_WRITES", 60.0),
        "relay_wait": raw.get("RELAY_WAIT", 1.0),
        "writer_notices": raw.get("WRITER_NOTICES", True),
    }
    values["replicas"] = _parse_replicas(raw.get("REPLICAS", {}), problems)
    values["edge"] = _parse_edge(raw.get("EDGE"), problems)
    values.update(_parse_outside(raw, problems))
    if not isinstance(values["user_fields"], list | tuple) or not all(
        isinstance(name, str) for name in values["user_fields"]
    ):
        problems.append(Problem("cache_sync.E007", "CACHE_SYNC['USER_FIELDS'] must be a list of user field names."))
        values["user_fields"] = ()
    values["user_fields"] = tuple(values["user_fields"])
    visitor_key = values["visitor_key"]
    if not isinstance(visitor_key, str) or len(re.findall(r"\{\w+\}", visitor_key)) != 1 or visitor_key.count("{") != 1:
        problems.append(
            Problem(
                "cache_sync.E059", "CACHE_SYNC['VISITOR_KEY'] must be a key template with one placeholder (the pk)."
            )
        )
        values["visitor_key"] = "visitor:{id}"
    if (
        isinstance(values["max_variants"], bool)
        or not isinstance(values["max_variants"], int)
        or values["max_variants"] < 1
    ):
        problems.append(Problem("cache_sync.E004", "CACHE_SYNC['MAX_VARIANTS'] must be a positive integer."))
        values["max_variants"] = 256
    if not isinstance(values["base_url"], str) or (
        values["base_url"] and urlsplit(values["base_url"]).scheme not in ("http", "https")
    ):
        problems.append(
            Problem(
                "cache_sync.E006",
                f"CACHE_SYNC['BASE_URL'] must be an http(s) URL such as 'https://shop.example.org', "
                f"not {values['base_url']!r}.",
            )
        )
        values["base_url"] = ""
    if not isinstance(values["cache_alias"], str):
        problems.append(Problem("cache_sync.E002", "CACHE_SYNC['CACHE'] must be a cache alias."))
        values["cache_alias"] = "default"
    numbers = (("timeout", "TIMEOUT"), ("lease_timeout", "LEASE_TIMEOUT"), ("lease_wait", "LEASE_WAIT"))
    for option, name in (*numbers, ("redis_backoff", "REDIS_BACKOFF"), ("read_your_writes", "READ_YOUR_WRITES")):
        value = values[option]
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            problems.append(
                Problem("cache_sync.E004", f"CACHE_SYNC['{name}'] must be a positive number of seconds, not {value!r}.")
            )
            values[option] = getattr(Config, option)
    relay_wait = values["relay_wait"]
    if isinstance(relay_wait, bool) or not isinstance(relay_wait, int | float) or relay_wait < 0:
        problems.append(
            Problem(
                "cache_sync.E004",
                f"CACHE_SYNC['RELAY_WAIT'] must be a number of seconds, 0 or more, not {relay_wait!r}.",
            )
        )
        values["relay_wait"] = Config.relay_wait
    if not isinstance(values["writer_notices"], bool):
        problems.append(
            Problem(
                "cache_sync.E065",
                f"CACHE_SYNC['WRITER_NOTICES'] must be True or False, not {values['writer_notices']!r}.",
            )
        )
        values["writer_notices"] = Config.writer_notices
    if values["strategy"] not in STRATEGIES:
        problems.append(
            Problem("cache_sync.E005", f"{BASELINE_SETTING} is {values['strategy']!r}.", _one_of(STRATEGIES))
        )
        values["strategy"] = "sync"
    rules_raw = raw.get("RULES", {})
    rules = []
    if not isinstance(rules_raw, dict):
        problems.append(Problem("cache_sync.E010", "CACHE_SYNC['RULES'] must be a dict of model label to rule."))
    else:
        for label, rule_raw in rules_raw.items():
            rule, rule_problems = _parse_rule(label, rule_raw)
            problems.extend(rule_problems)
            if rule and not rule_problems:
                rules.append(rule)
    return Config(**values, rules=tuple(rules), problems=tuple(problems))


def _parse_outside(raw: dict[str, object], problems: list[Problem]) -> dict[str, object]:
    """The options of metrics, the rule audit and the freshness monitor; a wrong one keeps its default."""
    values: dict[str, object] = {}
    path = raw.get("METRICS_PATH", Config.metrics_path)
    if isinstance(path, str) and path.strip("/"):
        values["metrics_path"] = path.strip("/")
    else:
        problems.append(
            Problem(
                "cache_sync.E017", f"CACHE_SYNC['METRICS_PATH'] must be a URL path such as 'metrics', not {path!r}."
            )
        )
    networks = raw.get("METRICS_NETWORKS", Config.metrics_networks)
    if isinstance(networks, list | tuple) and all(_is_network(network) for network in networks):
        values["metrics_networks"] = tuple(networks)
    else:
        problems.append(
            Problem(
                "cache_sync.E018",
                f"CACHE_SYNC['METRICS_NETWORKS'] must be a list of IP networks, not {networks!r}.",
                "Example: ['127.0.0.0/8', '::1/128'].",
            )
        )
    check = raw.get("AUDIT_CHECK")
    if check is None or isinstance(check, bool):
        values["audit_check"] = check
    else:
        problems.append(
            Problem("cache_sync.E023", f"CACHE_SYNC['AUDIT_CHECK'] must be True, False or None, not {check!r}.")
        )
    ignored = raw.get("AUDIT_IGNORE", ())
    if isinstance(ignored, list | tuple) and all(
        isinstance(name, str) and name.count(".") in (1, 2) for name in ignored
    ):
        values["audit_ignore"] = tuple(ignored)
    else:
        problems.append(
            Problem(
                "cache_sync.E024",
                f"CACHE_SYNC['AUDIT_IGNORE'] must list 'app_label.Model' or 'app_label.Model.field', not {ignored!r}.",
            )
        )
    within = raw.get("FRESHNESS_WITHIN_MS", Config.freshness_within_ms)
    if not isinstance(within, bool) and isinstance(within, int | float) and within >= 0:
        values["freshness_within_ms"] = float(within)
    else:
        problems.append(
            Problem(
                "cache_sync.E025", f"CACHE_SYNC['FRESHNESS_WITHIN_MS'] must be milliseconds (>= 0), not {within!r}."
            )
        )
    return values


def _parse_edge(raw: object, problems: list[Problem]) -> EdgeSettings | None:
    """CACHE_SYNC["EDGE"]; the backend is imported by the check (E062, E063) and the purger, not here."""
    if raw is None:
        return None
    where = "CACHE_SYNC['EDGE']"
    if not isinstance(raw, dict):
        problems.append(Problem("cache_sync.E061", f"{where} must be a dict.", _one_of(EDGE_OPTIONS)))
        return None
    for name in raw.keys() - set(EDGE_OPTIONS):
        problems.append(Problem("cache_sync.E061", f"{where} has an unknown option {name!r}.", _one_of(EDGE_OPTIONS)))
    backend = raw.get("BACKEND", "")
    if not isinstance(backend, str):
        problems.append(Problem("cache_sync.E062", f"{where}['BACKEND'] must be a dotted path, not {backend!r}."))
        backend = ""
    options = raw.get("OPTIONS", {})
    if not isinstance(options, dict) or not all(isinstance(name, str) for name in options):
        problems.append(Problem("cache_sync.E063", f"{where}['OPTIONS'] must be a dict of keyword arguments."))
        options = {}
    header = raw.get("HEADER", "")
    if not isinstance(header, str) or (header and not _HEADER_NAME.fullmatch(header)):
        problems.append(
            Problem("cache_sync.E064", f"{where}['HEADER'] must be a header name such as 'xkey', not {header!r}.")
        )
        header = ""
    if not header and backend:
        header = _backend_header(backend)
    if not header and not backend:
        if "HEADER" in raw:
            return None  # a wrong HEADER, reported above
        problems.append(
            Problem("cache_sync.E064", f"{where} names neither a BACKEND nor a HEADER.", "Example: {'HEADER': 'xkey'}.")
        )
        return None
    return EdgeSettings(backend, MappingProxyType(dict(options)), header)


def _backend_header(path: str) -> str:
    """The header the backend's edge reads keys from (its class's `header`); "" if it does not import."""
    from django.utils.module_loading import import_string

    try:
        header = getattr(import_string(path), "header", "")
    except Exception:  # a module that fails to import, whatever it raises: parsing never raises
        return ""  # reported by check E062
    return header if isinstance(header, str) and _HEADER_NAME.fullmatch(header) else ""


def _is_network(text: object) -> bool:
    try:
        ipaddress.ip_network(text, strict=False)  # type: ignore[arg-type]  # anything: a ValueError says no
    except (TypeError, ValueError):
        return False
    return True


def _parse_replicas(raw: object, problems: list[Problem]) -> tuple[tuple[str, str], ...]:
    databases = set(getattr(settings, "DATABASES", {}))
    if not isinstance(raw, dict) or not all(
        isinstance(alias, str) and isinstance(primary, str) and alias != primary and {alias, primary} <= databases
        for alias, primary in raw.items()
    ):
        problems.append(
            Problem(
                "cache_sync.E008",
                "CACHE_SYNC['REPLICAS'] must map each replica's database alias to its primary's, both in DATABASES.",
                "Example: {'replica': 'default'}.",
            )
        )
        return ()
    return tuple(raw.items())


def _parse_rule(label: object, raw: object) -> tuple[Rule | None, list[Problem]]:
    where = f"CACHE_SYNC['RULES'][{label!r}]"
    if not isinstance(label, str) or label.count(".") != 1:
        return None, [Problem("cache_sync.E055", f"{where}: a rule is keyed by 'app_label.ModelName'.")]
    if not isinstance(raw, dict):
        return None, [Problem("cache_sync.E052", f"{where} must be a dict.", _one_of(RULE_OPTIONS))]
    problems = [
        Problem("cache_sync.E053", f"{where} has an unknown option {name!r}.", _one_of(RULE_OPTIONS))
        for name in raw.keys() - set(RULE_OPTIONS)
    ]
    action = raw.get("action", "invalidate")
    if action not in ACTIONS:
        problems.append(Problem("cache_sync.E012", f"{where}: unknown action {action!r}.", _one_of(ACTIONS)))
    keys = _parse_templates(f"{where}['keys']", raw.get("keys"), problems)
    related_raw = raw.get("related", {})
    related = []
    if not isinstance(related_raw, dict):
        problems.append(Problem("cache_sync.E054", f"{where}['related'] must map relation names to key lists."))
    else:
        for accessor, templates in related_raw.items():
            related.append((accessor, _parse_templates(f"{where}['related'][{accessor!r}]", templates, problems)))
    fields = raw.get("fields")
    if fields is not None and (
        not isinstance(fields, list | tuple) or not all(isinstance(name, str) and name for name in fields)
    ):
        problems.append(Problem("cache_sync.E058", f"{where}['fields'] must be a list of field names."))
        fields = None
    return Rule(label, action, keys, tuple(related), tuple(fields) if fields is not None else None), problems


def _parse_templates(where: str, raw: object, problems: list[Problem]) -> tuple[KeyTemplate, ...]:
    if not isinstance(raw, list | tuple) or not raw:
        problems.append(Problem("cache_sync.E013", f"{where} must be a non-empty list of key templates."))
        return ()
    templates = []
    for text in raw:
        try:
            templates.append(KeyTemplate.parse(text))
        except TemplateSyntaxError as error:
            problems.append(
                Problem("cache_sync.E056", f"{where}: malformed key template: {error}", "Example: 'product:{slug}'.")
            )
    return tuple(templates)


def _one_of(choices: tuple[str, ...]) -> str:
    return "Use one of: " + ", ".join(choices) + "."
