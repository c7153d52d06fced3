"""A "Staleness" tab in Locust's web UI: reads, checked reads and stale reads, from the oracle.

Stale reads are failures of their requests (with their age in the message), so the
request statistics stay true; this tab adds what Locust cannot count itself. It uses
Locust's web-UI extension points: `extended_tabs`/`extended_tables` in the template
arguments, and `extended_stats` added to the `/stats/requests` answer the UI polls.
`/staleness` answers the same counts as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import redis
from flask import Response, jsonify, request

TAB = "staleness"


def staleness_rows(counts: dict[str, int]) -> list[dict[str, str]]:
    checked, stale = counts.get("checked", 0), counts.get("stale", 0)
    share = f"{100 * stale / checked:.3f} %" if checked else "-"
    return [
        {"measure": "reads", "value": str(counts.get("reads", 0))},
        {"measure": "reads checked against an acknowledged write", "value": str(checked)},
        {"measure": "stale reads", "value": str(stale)},
        {"measure": "stale share of checked reads", "value": share},
        {"measure": "acknowledged writes", "value": str(counts.get("writes", 0))},
    ]


def show_staleness_in_web_ui(web_ui, oracle: Callable) -> None:
    """`oracle` returns the Oracle; the counts are read at each poll, from every Locust process's writes."""

    def rows() -> list[dict[str, str]]:
        try:
            return staleness_rows(oracle().counts())
        except redis.RedisError as error:
            return [{"measure": "oracle unreachable", "value": str(error)}]

    web_ui.template_args["extended_tabs"] = [{"title": "Staleness", "key": TAB}]
    web_ui.template_args["extended_tables"] = [
        {"key": TAB, "structure": [{"key": "measure", "title": "Measure"}, {"key": "value", "title": "Value"}]}
    ]

    @web_ui.app.after_request
    def add_staleness(response: Response) -> Response:
        if request.path == "/stats/requests" and response.is_json:
            data = response.get_json()
            data["extended_stats"] = [{"key": TAB, "data": rows()}]
            response.set_data(json.dumps(data))
        return response

    @web_ui.app.route("/staleness")
    def staleness():
        return jsonify({row["measure"]: row["value"] for row in rows()})
