"""Progress: one callback shape (message, rows done, rows total) for the CLI and MCP; old one-argument callbacks work."""

from __future__ import annotations

from icp_agent.ingest.importer import import_file
from icp_agent.progress import Eta, adapt


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
    assert all(a[0] <= b[0] for a, b in zip(normalising, normalising[1:]))
    assert any(m.startswith("reading p.csv") for m, _, _ in calls)


def test_the_eta_line_says_rows_and_time_left(monkeypatch):
    clock = iter([100.0, 100.0, 102.0, 102.0, 102.0])
    monkeypatch.setattr("icp_agent.progress.time.monotonic", lambda: next(clock))
    eta = Eta()
    assert eta.line("normalising", 0, 1000) == "normalising: 0 of 1,000 rows"
    assert eta.line("normalising", 250, 1000) == "normalising: 250 of 1,000 rows, about 6 s left"
    assert Eta().line("profiling") == "profiling"
