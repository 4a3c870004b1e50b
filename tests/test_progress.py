"""Progress: one callback shape (message, rows done, rows total) for the CLI and MCP; old one-argument callbacks work."""

from __future__ import annotations

import itertools
import threading
import time

from icp_agent.ingest.importer import import_file
from icp_agent.progress import Eta, Parts, Step, adapt, pulsing, unit_of


def test_a_one_argument_callback_gets_the_message_only():
    seen = []
    adapt(seen.append)("normalising", 5, 10)
    adapt(lambda message: seen.append(message.upper()))("step")
    assert seen == ["normalising", "STEP"]


def test_an_import_reports_rows_done_of_the_total_ending_at_the_total(ws, write):
    calls = []
    text = "Company,Website,Industry\n" + "".join(f"C{i},c{i}.com,{'Retail' if i % 2 else 'Software'}\n"
                                                  for i in range(500))
    import_file(ws, write("p.csv", text), "prospects", progress=lambda m, done=None, total=None: calls.append(
        (m, done, total)))
    normalising = [(d, t) for m, d, t in calls if m.startswith("normalising")]
    assert normalising[0] == (0, 500) and normalising[-1] == (500, 500)
    assert all(a[0] <= b[0] for a, b in itertools.pairwise(normalising))
    assert any(m.startswith("reading p.csv") for m, _, _ in calls)


def test_an_import_counts_the_columns_profiled_of_all(ws, write):
    calls = []
    # Company and Website are unique per row (normalised inline), Industry repeats, Tier is no known field
    text = "Company,Website,Industry,Tier\n" + "".join(
        f"C{i},c{i}.com,{'Retail' if i % 2 else 'Software'},{'gold' if i % 3 else 'silver'}\n" for i in range(300)
    )
    import_file(ws, write("p.csv", text), "prospects", progress=lambda m, done=None, total=None: calls.append(
        (m, done, total)))
    profiling = [(m, d, t) for m, d, t in calls if m.startswith("profiling")]
    assert {m for m, _, _ in profiling} == {"profiling 4 columns"} and unit_of(profiling[0][0]) == "columns"
    counts = [(d, t) for _, d, t in profiling]
    assert counts[0] == (0, 4) and counts[-1] == (4, 4) and all(t == 4 for _, t in counts)
    assert all(a[0] < b[0] for a, b in itertools.pairwise(counts)) and len(counts) >= 3
    # the unknown column's type is read after, a step of its own with no count
    after = [c for c in calls[calls.index(profiling[-1]) + 1 :] if not c[0].startswith("profiling")]
    assert after[0] == ("reading the types of 1 column's values", None, None)


def test_the_eta_line_says_rows_and_time_left(monkeypatch):
    clock = iter([100.0, 100.0, 102.0, 102.0, 102.0])
    monkeypatch.setattr("icp_agent.progress.time.monotonic", lambda: next(clock))
    eta = Eta()
    assert eta.line("normalising", 0, 1000) == "normalising: 0 of 1,000 rows"
    assert eta.line("normalising", 250, 1000) == "normalising: 250 of 1,000 rows, about 6 s left"
    assert Eta().line("profiling") == "profiling"


def test_a_step_that_counts_no_rows_shows_its_time_so_far(monkeypatch):
    clock = iter([100.0, 100.0, 100.5, 103.0, 103.0])
    monkeypatch.setattr("icp_agent.progress.time.monotonic", lambda: next(clock))
    eta = Eta()
    assert eta.line("validating the ICP") == "validating the ICP"
    assert eta.line("validating the ICP") == "validating the ICP"  # under a second: nothing added
    assert eta.line("validating the ICP") == "validating the ICP (3 s so far)"
    assert eta.line("writing the ICP document") == "writing the ICP document"  # a new step starts its own clock


def test_pulsing_repeats_the_last_report_while_a_step_is_silent_and_stops_with_the_block():
    calls: list[tuple] = []
    repeated = threading.Event()

    def record(message, done=None, total=None):
        calls.append((message, done, total))
        if len(calls) >= 3:
            repeated.set()

    with pulsing(record, every=0.02) as report:
        report("searching", 5, 10)
        assert repeated.wait(30)  # the work goes on without a report: the last one comes again
    after = len(calls)
    time.sleep(0.1)
    assert len(calls) == after  # stopped with the block
    assert set(calls) == {("searching", 5, 10)}


def test_a_failing_callback_stops_the_pulse_never_the_work():
    failures = []

    def gone(message, done=None, total=None):
        failures.append(message)
        if len(failures) > 1:  # the client went away after the first report
            raise BrokenPipeError

    with pulsing(gone, every=0.02) as report:
        report("scoring")
        deadline = time.monotonic() + 30
        while len(failures) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert failures == ["scoring", "scoring"]
    with pulsing(None) as nothing:  # no callback: one that does nothing, and no thread
        assert nothing("step", 1, 2) is None
        assert not any(t.name == "icp-agent progress pulse" for t in threading.enumerate())


def test_watched_reports_rows_of_the_statements_run_inside(ws, monkeypatch):
    from icp_agent import progress

    calls, watches = [], []
    real = progress.watch
    monkeypatch.setattr(progress, "watch", lambda *args: watches.append(args[2]) or real(*args))
    report = lambda m, done=None, total=None: calls.append((m, done, total))  # noqa: E731
    with ws.watched(report, "writing t.csv", 1000), ws.connect() as con:
        con.execute("CREATE TABLE t AS SELECT range AS n FROM range(1000)")
        with ws.connect():  # nested in the same step: watched once
            pass
    assert calls[0] == ("writing t.csv", 0, 1000) and calls[-1] == ("writing t.csv", 1000, 1000)
    assert watches == ["writing t.csv"]
    with ws.connect() as con:  # outside the block nothing is watched
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchone() == (False,)


def test_writing_the_report_counts_the_rows_of_its_files(demo_copy, tmp_path):
    from icp_agent import toolkit
    from icp_agent.options import RenderOptions

    calls = []
    workspace = demo_copy.workspace()
    toolkit.render_document(workspace, RenderOptions(out_dir=str(tmp_path / "out")),
                            progress=lambda m, done=None, total=None: calls.append((m, done, total)))
    finals = {m: (d, t) for m, d, t in calls if d is not None and d == t}
    with workspace.read() as con:
        scored = con.execute("""SELECT sum(i.rows_kept) FROM current_snapshot c JOIN imports i USING (import_id)
                                WHERE c.kind IN ('customers', 'prospects')""").fetchone()[0]
    assert finals["writing the CRM files"] == (scored, scored) and scored > 50_000
    matrix_rows = sum(1 for _ in (tmp_path / "out" / "scoring_matrix.csv").open()) - 1
    assert finals["writing scoring_matrix.csv"][1] >= matrix_rows > 0
    assert [m for m, _, _ in calls][-1] == "writing the ICP document"


def test_an_import_names_its_last_steps_after_the_rows(ws, write):
    """After the rows: the commit and the link report are steps of their own (the time so far shows on them,
    not on the last file's 'N of N rows')."""
    from icp_agent import toolkit
    from icp_agent.options import ImportOptions

    calls = []
    path = write("customers.csv", "company_id,company_name,industry\n1,Acme,Software\n2,Beta,Retail\n")
    toolkit.import_data(ws, ImportOptions(customers=str(path)),
                        progress=lambda m, done=None, total=None: calls.append(m))
    steps = list(dict.fromkeys(calls))
    assert steps[0] == "importing customers.csv as customers"
    assert steps[-2:] == ["saving the import", "checking how the files link"]


def test_a_step_names_what_it_counts_and_the_eta_line_says_it(monkeypatch):
    clock = iter([100.0, 100.0, 100.0, 104.0])
    monkeypatch.setattr("icp_agent.progress.time.monotonic", lambda: next(clock))
    checks = Step("validating the ICP", "checks")
    assert checks == "validating the ICP" and unit_of(checks) == "checks" and unit_of("normalising") == "rows"
    eta = Eta()
    assert eta.line("validating the ICP") == "validating the ICP"  # the bare message starts the same step
    assert eta.line(checks, 0, 7) == "validating the ICP: 0 of 7 checks"
    assert eta.line(checks, 4, 7) == "validating the ICP: 4 of 7 checks, about 3 s left"


def test_parts_count_up_to_their_total_never_back_and_a_child_s_steps_are_parts():
    calls: list[tuple] = []
    parts = Parts(lambda m, done=None, total=None: calls.append((m, unit_of(m), done, total)), "validating", "checks")
    parts.expect(6)
    parts.advance()
    child = parts.child()
    assert child is not None
    for message in ("health", "health", "screening", "screening", "search"):  # three steps: two of them finished
        child(message, 1, 2)
    parts.reach(2)  # behind the count: nothing reported
    parts.reach(5)
    parts.advance(3)  # past the total: stops at it
    assert [c[2] for c in calls] == [0, 1, 2, 3, 5, 6]
    assert {(c[0], c[1], c[3]) for c in calls} == {("validating", "checks", 6)}
    silent = Parts(None, "validating", "checks")  # no callback: nothing counted, no child
    silent.expect(6)
    silent.advance()
    assert (silent.done, silent.total, silent.child()) == (0, 0, None)


def test_a_build_counts_each_long_step_in_its_unit_and_polls_nothing_without_a_callback(demo_copy, monkeypatch):
    """The Python API's callback gets what the CLI and MCP get: every step that counts reports done growing from
    0 to its total in one unit (customers scored, fields, searches, checks, stages); a build without a callback
    starts no statement watch."""
    from icp_agent import progress, toolkit
    from icp_agent.tiers import analyse

    workspace = demo_copy.workspace()
    calls: list[tuple] = []
    icp = toolkit.build_icp(workspace, toolkit.AnalysisOptions(),
                            progress=lambda m, done=None, total=None: calls.append((str(m), unit_of(m), done, total)))
    steps = list(dict.fromkeys(m for m, _, _, _ in calls))
    assert len(steps) == toolkit.BUILD_STEPS and steps[0] == "reading the workspace"
    counted = {m: [(u, d, t) for mm, u, d, t in calls if mm == m and t is not None] for m in steps}
    with workspace.read() as con:
        customers = con.execute(f"SELECT count(*) FROM {workspace.current_table(con, 'customers')}").fetchone()[0]
    units = {m: {u for u, _, _ in counts} for m, counts in counted.items() if counts}
    assert units == {"scoring customer health": {"customers"}, steps[2]: {"fields"}, steps[3]: {"fields"},
                     "searching for over-indexing traits": {"searches"}, "measuring the tiers": {"customers"},
                     "validating the ICP": {"checks"}, "fitting the lead-scoring model": {"stages"},
                     "drafting personas and rationale (offline drafter)": {"tiers"}}
    for step, counts in ((m, c) for m, c in counted.items() if c):
        done = [d for _, d, _ in counts]
        totals = {t for _, _, t in counts}
        assert len(totals) == 1 and done == sorted(done) and done[-1] == totals.pop(), step
    assert counted["scoring customer health"][-1][1:] == (customers, customers)
    assert counted["validating the ICP"][-1][1] == 1 + 1 + analyse.TIER1_STEPS + 1  # deals, economics, rebuild, market
    assert counted["fitting the lead-scoring model"][-1][1] == 4
    assert counted["drafting personas and rationale (offline drafter)"][-1][1] == len(icp.tiers) > 1

    health: list[tuple] = []  # score_health alone counts the same customers
    toolkit.score_health(workspace, toolkit.HealthOptions(), progress=lambda m, d=None, t=None: health.append((m, d, t)))
    assert health[0] == ("scoring customer health", None, None) and health[-1][1:] == (customers, customers)

    def no_watch(*args, **kwargs):
        raise AssertionError("a statement watched without a callback")

    monkeypatch.setattr(progress, "watch", no_watch)
    monkeypatch.setattr(analyse, "watch", no_watch)
    assert toolkit.build_icp(workspace, toolkit.AnalysisOptions()).status == "ok"


def test_a_count_stalled_short_of_its_total_shows_its_time_so_far_not_zero_seconds_left(monkeypatch):
    clock = iter([100.0, 100.0, 100.5, 103.0])
    monkeypatch.setattr("icp_agent.progress.time.monotonic", lambda: next(clock))
    eta, step = Eta(), Step("scoring customer health", "customers")
    assert eta.line(step, 0, 1_000_000) == "scoring customer health: 0 of 1,000,000 customers"
    assert eta.line(step, 999_998, 1_000_000) == "scoring customer health: 999,998 of 1,000,000 customers"
    assert eta.line(step, 999_998, 1_000_000) == "scoring customer health: 999,998 of 1,000,000 customers (3 s so far)"
