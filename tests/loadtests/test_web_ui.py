"""The Staleness tab of Locust's web UI, on a bare Flask app (importing Locust here would patch the test process)."""

from __future__ import annotations

from types import SimpleNamespace

import fakeredis
from flask import Flask, jsonify

from loadtests.oracle import Oracle
from loadtests.web_ui import show_staleness_in_web_ui


def web_ui_with_staleness(counts: dict[str, int]):
    app = Flask(__name__)
    app.add_url_rule("/stats/requests", "stats", lambda: jsonify({"stats": [], "total_rps": 12.5}))
    web_ui = SimpleNamespace(app=app, template_args={})
    oracle = Oracle(fakeredis.FakeRedis())
    for name, n in counts.items():
        oracle.client.hincrby("lt:n", name, n)
    show_staleness_in_web_ui(web_ui, lambda: oracle)
    return web_ui


def test_the_tab_and_its_table_are_declared_for_the_ui():
    web_ui = web_ui_with_staleness({})
    assert web_ui.template_args["extended_tabs"] == [{"title": "Staleness", "key": "staleness"}]
    assert web_ui.template_args["extended_tables"][0]["key"] == "staleness"


def test_the_polled_stats_carry_the_checked_and_stale_counts():
    web_ui = web_ui_with_staleness({"reads": 900, "checked": 400, "stale": 2, "writes": 50})
    data = web_ui.app.test_client().get("/stats/requests").get_json()
    assert data["total_rps"] == 12.5  # Locust's own numbers untouched
    (tab,) = data["extended_stats"]
    rows = {row["measure"]: row["value"] for row in tab["data"]}
    assert tab["key"] == "staleness"
    assert rows["reads checked against an acknowledged write"] == "400"
    assert rows["stale reads"] == "2"
    assert rows["stale share of checked reads"] == "0.500 %"


def test_staleness_answers_the_counts_as_json():
    web_ui = web_ui_with_staleness({"checked": 10, "stale": 0})
    assert web_ui.app.test_client().get("/staleness").get_json()["stale reads"] == "0"
