"""A fault run's windows: what falls in them by t_send, the summary and what fails the run (no servers)."""

from __future__ import annotations

import fakeredis

from loadtests.fault_run import count_statuses, fault_summary_markdown
from loadtests.fault_windows import FaultWindow, attribute_to_windows, failed_checks, other_failures, window_of
from loadtests.oracle import Oracle
from loadtests.reading import judge_read
from loadtests.site_pages import product_page
from loadtests.staleness import Expected, stale_failure_message

PRODUCT = "catalog.product:7"
T0 = 1000.0
RESTART = FaultWindow("restart the database", start=1010.0, end=1011.0, settle_s=5.0)
CUT = FaultWindow("cut Redis for 5 s", start=1030.0, end=1035.0, settle_s=5.0)


def test_a_window_holds_its_settle_margin_and_nothing_past_it():
    assert window_of(1010.0, [RESTART, CUT]) is RESTART
    assert window_of(1015.9, [RESTART, CUT]) is RESTART  # end 1011 + 5 s settle
    assert window_of(1016.1, [RESTART, CUT]) is None
    assert window_of(1009.9, [RESTART, CUT]) is None
    assert window_of(1039.0, [RESTART, CUT]) is CUT


def oracle_with_stale_reads_at(*t_sends: float) -> Oracle:
    oracle = Oracle(fakeredis.FakeRedis())
    oracle.record_write(PRODUCT, 3, t_ack=T0, pages=["product:p"])
    for t_send in t_sends:
        oracle.record_read(
            page="product:p",
            kind="product",
            header=f"{PRODUCT}=2",
            cache_status="hit",
            expected=oracle.expected("product:p"),
            t_send=t_send,
            latency_ms=2,
        )
    return oracle


def test_stale_reads_are_attributed_to_the_window_of_their_t_send():
    oracle = oracle_with_stale_reads_at(1010.5, 1012.0, 1031.0, 1050.0)
    attribution = attribute_to_windows(oracle.fault_evidence(), [RESTART, CUT], t0=T0)
    restart, cut = attribution["windows"]
    assert (restart["stale_reads"], cut["stale_reads"], attribution["outside"]["stale_reads"]) == (2, 1, 1)
    assert (restart["reads"], cut["reads"], attribution["outside"]["reads"]) == (2, 1, 1)
    assert (restart["start_s"], restart["end_s"], restart["until_s"]) == (10.0, 11.0, 16.0)


def test_a_503_counts_in_the_window_its_answer_arrived_in_and_is_no_read():
    oracle = Oracle(fakeredis.FakeRedis())
    page = product_page("p")
    # Sent 0.1 s before the restart began, queued, answered once the server was down.
    failure = judge_read(oracle, page, 503, {}, expected=Expected(v_min={}, last_ack={}), t_send=1009.9, latency_ms=150)
    oracle.record_unavailable("write", 1020.0)
    attribution = attribute_to_windows(oracle.fault_evidence(), [RESTART, CUT], t0=T0)
    assert failure == "HTTP 503"
    assert attribution["windows"][0]["unavailable_503"] == 1
    assert attribution["windows"][0]["reads"] == 0
    assert attribution["outside"]["unavailable_503"] == 1


def summary_of(oracle: Oracle, *, stuck: int = 0, http_500: int = 0, exited=()) -> dict:
    return {
        "settings": {"duration": 60},
        "attribution": attribute_to_windows(oracle.fault_evidence(), [RESTART, CUT], t0=T0),
        "stuck": {"stuck": stuck, "pages_checked": 4, "examples": []},
        "http_500": http_500,
        "http_503": 1,
        "http_statuses": {200: 10, 503: 1},
        "processes_exited": list(exited),
        "other_failures": [],
        "sync": {
            "reads": 4,
            "reads_checked": 4,
            "stale_reads": 1,
            "writes": 1,
            "requests_per_s": 10.0,
            "cache_hit_ratio": 0.5,
        },
    }


def test_stale_reads_inside_windows_pass_the_run():
    assert failed_checks(summary_of(oracle_with_stale_reads_at(1010.5, 1031.0))) == []


def test_a_stale_read_outside_every_window_a_stuck_page_a_500_or_an_exited_relay_fail_the_run():
    clean = oracle_with_stale_reads_at(1010.5)
    assert failed_checks(summary_of(oracle_with_stale_reads_at(1050.0))) == ["1 stale reads outside every fault window"]
    assert failed_checks(summary_of(clean, stuck=2)) == ["2 pages stuck after the run"]
    assert failed_checks(summary_of(clean, http_500=3)) == ["3 HTTP 500 answers"]
    assert failed_checks(summary_of(clean, exited=["manage.py cache_sync relay"])) == [
        "exited during the run: manage.py cache_sync relay"
    ]


def test_a_fault_that_could_not_be_applied_fails_the_run():
    oracle = oracle_with_stale_reads_at()
    summary = summary_of(oracle)
    summary["attribution"] = attribute_to_windows(
        oracle.fault_evidence(), [FaultWindow("migrate", 1020.0, 1021.0, 5.0, error="CalledProcessError(1)")], t0=T0
    )
    assert failed_checks(summary) == ["faults not applied: migrate"]


def test_the_summary_lists_each_window_and_the_three_counts_that_must_be_zero():
    summary = summary_of(oracle_with_stale_reads_at(1010.5, 1050.0))
    summary["failures"] = failed_checks(summary)
    text = fault_summary_markdown(summary)
    assert "| restart the database | 10.0 - 11.0 (+5 settle: 16.0) | 1 | 1 | 0 | - |" in text
    assert "stale reads outside every window: **1**" in text
    assert "stuck pages after the run: **0**" in text
    assert "HTTP 500s (every 5xx but 503, from the access logs): **0**" in text
    assert "**FAILED**: 1 stale reads outside every fault window" in text


def test_statuses_are_counted_from_gunicorns_access_logs(tmp_path):
    log = tmp_path / "access.log"
    log.write_text(
        '127.0.0.1 - - [01/Dec/2026:09:50:00 +0000] "GET / HTTP/1.1" 200 512 "-" "locust"\n'
        '127.0.0.1 - - [01/Dec/2026:09:50:01 +0000] "GET /p/ HTTP/1.1" 503 40 "-" "locust"\n'
        '127.0.0.1 - - [01/Dec/2026:09:50:01 +0000] "POST /staff/ HTTP/1.1" 500 40 "-" "locust"\n'
    )
    assert count_statuses([log]) == {200: 1, 503: 1, 500: 1}


def test_the_fault_run_refuses_with_a_message_when_no_postgresql_server_can_be_started(monkeypatch, capsys, tmp_path):
    from loadtests import fault_run
    from loadtests.run import parse_args
    from tools.harness import postgres

    def unavailable():
        raise postgres.Unavailable("no PostgreSQL server binaries")

    monkeypatch.setattr(postgres, "find_bindir", unavailable)
    assert fault_run.main(parse_args(["--faults", "--out", str(tmp_path)])) == 2
    assert "--faults needs a PostgreSQL server it may restart" in capsys.readouterr().err


def test_a_failed_request_that_is_neither_stale_nor_a_503_fails_the_run():
    rows = [
        {"Method": "GET", "Name": "/", "Error": "CatchResponseError('HTTP 503')", "Occurrences": "4"},
        {
            "Method": "GET",
            "Name": "/",
            "Error": f"CatchResponseError('{stale_failure_message(30)}')",
            "Occurrences": "1",
        },
        {"Method": "GET", "Name": "/p/", "Error": "ConnectionRefusedError(111)", "Occurrences": "2"},
    ]
    summary = summary_of(oracle_with_stale_reads_at())
    summary["other_failures"] = other_failures(rows)
    assert summary["other_failures"] == [
        {"request": "GET /p/", "error": "ConnectionRefusedError(111)", "occurrences": 2}
    ]
    assert failed_checks(summary) == ["2 other request failures (neither a stale read nor a 503)"]
