"""Unit tests of icp_agent.ingest.importer: one file imported as a snapshot (its report's counts, types, roles
and stored values), idempotence, the snapshot key, rejected rows, and a failed import leaving nothing behind."""

from __future__ import annotations

import pytest

from conftest import rows
from icp_agent.errors import UserError
from icp_agent.ingest.importer import import_file, import_key
from icp_agent.ingest.mapping import Mapping
from icp_agent.ingest.reader import file_digest, inspect_file

CUSTOMERS = """company_id,company_name,industry,employees,customer_since,churn_date,arr,notes
c1,Acme,Software,120,2023-01-05,,"$12,000",great
c2,Bolt,retail,40,2022-06-01,2024-02-01,"$5,000",
c3,Crane,Software,300,2021-03-15,,"$30,000",
c3,Crane,Software,300,2021-03-15,,"$30,000",
c4,Dyno,SOFTWARE,lots,2020-01-01,,"$1,000",
"""


def _imports(ws) -> int:
    with ws.read() as con:
        return con.execute("SELECT count(*) FROM imports").fetchone()[0]


def test_import_a_customers_file(ws, write):
    report = import_file(ws, write("customers.csv", CUSTOMERS), "customers")
    # 5 data rows, one an exact duplicate (dropped, not rejected)
    assert (report.rows_read, report.rows_kept, report.rows_rejected, report.duplicates_dropped) == (5, 4, 0, 1)
    assert report.import_id.startswith("customers-") and report.file_name == "customers.csv"
    columns = {c.field: c for c in report.columns}
    assert columns["arr"].type == "money" and columns["arr"].currencies == {"USD": 4}
    assert columns["customer_since"].type == "date" and columns["company_id"].role == "id"
    assert columns["employees"].unparsed == 1 and columns["employees"].unparsed_examples == ["row 5: lots"]
    assert columns["churn_date"].pct_missing == 75.0
    stored = rows(ws, "customers")
    assert [r["company_id"] for r in stored] == ["c1", "c2", "c3", "c4"]
    assert [r["arr"] for r in stored] == [12000.0, 5000.0, 30000.0, 1000.0]
    # one spelling per key; an all-lower-case value is shown capitalised
    assert [r["industry"] for r in stored] == ["Software", "Retail", "Software", "Software"]
    assert stored[3]["employees"] is None and str(stored[1]["churn_date"]) == "2024-02-01"


def test_the_same_file_again_is_already_imported(ws, write):
    path = write("customers.csv", CUSTOMERS)
    first = import_file(ws, path, "customers")
    again = import_file(ws, path, "customers")
    assert again.already_imported and again.import_id == first.import_id and _imports(ws) == 1


def test_the_snapshot_is_named_by_the_digest_read_beside_it(ws, write):
    """The digest is waited for only at the write (no import of the kind yet) or before the staging (one there may
    be of the same bytes): either way the snapshot's id, table and stored sha256 are the file's digest's."""
    deals = import_file(ws, write("deals.csv", "deal_id,company_id,amount\nd1,c1,100\n"), "deals")
    path = write("customers.csv", CUSTOMERS)
    digest = file_digest(path)
    first = import_file(ws, path, "customers")  # the workspace holds deals only: named at the write
    assert (first.import_id, first.sha256) == (f"customers-{digest[:12]}", digest)
    with ws.read() as con:
        stored = con.execute("SELECT sha256, table_name FROM imports WHERE kind = 'customers'").fetchall()
    assert stored == [(digest, f"imp_customers_{digest[:12]}")]
    # the same bytes under another name: found by their digest, waited for before the staging
    again = import_file(ws, write("renamed.csv", CUSTOMERS), "customers")
    assert again.already_imported and again.import_id == first.import_id and _imports(ws) == 2
    changed = import_file(ws, write("customers.csv", CUSTOMERS + "c5,Echo,Retail,10,2020-01-01,,$1,\n"), "customers")
    assert not changed.already_imported and changed.sha256 == file_digest(path) != digest
    assert deals.import_id.startswith("deals-") and _imports(ws) == 3


def test_kind_is_detected_when_not_given(ws, write):
    report = import_file(ws, write("x.csv", "deal_id,company_id,stage,amount\nd1,c1,Closed Won,100\n"))
    assert report.kind == "deals" and report.detected_as == "has a deal stage column"


def test_unknown_kind(ws, write):
    with pytest.raises(UserError, match="unknown kind 'widgets'"):
        import_file(ws, write("c.csv", CUSTOMERS), "widgets")


def test_id_conflicts_are_rejected_and_named(ws, write):
    text = "company_id,company_name\nc1,Acme\nc1,Acme Corp\nc2,Bolt\n"
    report = import_file(ws, write("c.csv", text), "customers")
    assert (report.rows_kept, report.rows_rejected) == (2, 1)
    assert report.rejected[0].row == 2 and "also on row 1" in report.rejected[0].reason


def test_ids_that_differ_only_in_their_spaces_are_one_id(ws, write):
    """Ids unique as written but stored alike (trimmed, runs of spaces collapsed) are a conflict; ids unique once
    stored are none, whatever the rest of the row."""
    text = 'company_id,company_name\nc1,Acme\n"c1 ",Acme Corp\nc 2,Bolt\n"c  2",Bolt 2\nc3,Crane\n'
    report = import_file(ws, write("c.csv", text), "customers")
    assert (report.rows_kept, report.rows_rejected) == (3, 2)
    assert [(r.row, r.raw) for r in report.rejected] == [(2, "c1"), (4, "c 2")]
    # a no-break space is trimmed off too (a spreadsheet's padding): the ids are one
    report = import_file(ws, write("e.csv", "company_id,company_name\nc1,Acme\nc1\u00a0,Acme Corp\n"), "customers")
    assert (report.rows_kept, report.rows_rejected) == (1, 1) and report.rejected[0].raw == "c1"
    report = import_file(ws, write("d.csv", "company_id,company_name\nc1,Acme\nc2,Acme\nc3,Acme\n"), "customers")
    assert (report.rows_kept, report.rows_rejected, report.duplicates_dropped) == (3, 0, 0)


def test_a_failed_import_leaves_nothing(ws, write):
    import_file(ws, write("ok.csv", CUSTOMERS), "customers")
    with pytest.raises(UserError) as err:
        import_file(ws, write("bad.csv", "company_id,company_name\nc1,Acme\nc2,Bolt,extra\n"), "customers")
    assert err.value.file == "bad.csv" and err.value.row == 2
    assert _imports(ws) == 1 and len(rows(ws, "customers")) == 4  # the earlier snapshot is still current


def test_lenient_import_keeps_the_good_rows(ws, write):
    path = write("bad.csv", "company_id,company_name\nc1,Acme\nc2,Bolt,extra\nc3,Crane\n")
    report = import_file(ws, path, "customers", lenient=True)
    assert (report.rows_kept, report.rows_rejected) == (2, 1) and report.rejected[0].row == 2


def test_import_key_changes_with_settings_that_change_what_is_stored(write):
    source = inspect_file(write("c.csv", CUSTOMERS))
    assert import_key(source, "customers", Mapping(), False) == source.sha256
    lenient = import_key(source, "customers", Mapping(), True)
    typed = import_key(source, "customers", Mapping(types={"industry": "text"}), False)
    unrelated = import_key(source, "customers", Mapping(types={"seniority": "text"}), False)
    assert len({source.sha256, lenient, typed}) == 3
    assert unrelated == source.sha256  # a setting for a field the file lacks changes nothing


def _scan_filters(con, query: str) -> list[str]:
    """The Filters of every READ_PARQUET in the plan of `query` (what the scan itself skips to)."""
    import json

    found: list[str] = []

    def walk(node: dict) -> None:
        if node.get("name") == "READ_PARQUET":
            found.append(str(node.get("extra_info", {}).get("Filters", "")))
        for child in node.get("children", []):
            walk(child)

    for node in json.loads(con.execute(f"EXPLAIN (FORMAT json) {query}").fetchall()[0][1]):
        walk(node)
    return found


def test_parquet_batches_read_only_their_rows_and_store_what_one_batch_stores(tmp_path, write, monkeypatch):
    """Rows written in batches from a Parquet file (duplicates left out by a filter) are the rows one batch
    writes, in file order, and each batch's scan is given its row range (a filter the Parquet reader applies
    itself, so a batch does not read the whole file)."""
    import duckdb

    from icp_agent.ingest import importer
    from icp_agent.workspace import Workspace

    source = write(
        "customers.csv", CUSTOMERS + "c5,Echo,Retail,12,2020-02-02,,$900,\nc6,Fox,Software,7,2020-03-03,,$80,\n"
    )
    target = tmp_path / "customers.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{source}', all_varchar=true)) TO '{target}' (FORMAT parquet)"
    )
    whole = import_file(Workspace(tmp_path / "whole.duckdb"), target, "customers")
    monkeypatch.setattr(importer, "WRITE_BATCH_ROWS", 2)
    monkeypatch.setattr(importer, "_direct_readings", lambda *args: None)  # every lookup joined: sorted batches
    filters: list[list[str]] = []
    real = importer._write_rows

    def spy(con, table, select, progress, rows):
        filters.append(_scan_filters(con, select(3, 4)))
        real(con, table, select, progress, rows)

    monkeypatch.setattr(importer, "_write_rows", spy)
    batched = import_file(Workspace(tmp_path / "batched.duckdb"), target, "customers")
    assert filters == [["((file_row_number >= 2) AND (file_row_number <= 3))"]]  # rows 3-4 are numbered from 0
    assert batched.model_dump(exclude={"imported_at"}) == whole.model_dump(exclude={"imported_at"})
    assert batched.duplicates_dropped == 1 and batched.rows_kept == 6
    stored = rows(Workspace(tmp_path / "batched.duckdb"), "customers")
    assert stored == rows(Workspace(tmp_path / "whole.duckdb"), "customers")
    assert [r["company_id"] for r in stored] == ["c1", "c2", "c3", "c4", "c5", "c6"]


def test_the_memory_limit_is_restored_after_an_import(ws, write):
    """The rows are written under a lower working-memory limit; the connection's own limit is back afterwards."""
    from icp_agent.ingest.importer import import_into

    with ws.transaction() as con:
        before = con.execute("SELECT current_setting('memory_limit')").fetchone()
        report = import_into(con, write("customers.csv", CUSTOMERS), "customers")
        assert report.rows_kept == 4
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == before


def _as_parquet(tmp_path, source):
    import duckdb

    target = tmp_path / "customers.parquet"
    duckdb.connect().execute(
        f"COPY (SELECT * FROM read_csv('{source}', all_varchar=true)) TO '{target}' (FORMAT parquet)"
    )
    return target


def test_a_parquet_files_repeated_rows_are_searched_beside_the_profiling(tmp_path, write, monkeypatch):
    """A Parquet file is profiled as if no row repeated while a second connection searches for repeats: a file
    without any is built once; one with a repeat (c3) is built again without it, storing what the search run first
    stores; the connection's memory limit is the workspace's afterwards, and no search is left running."""
    import threading

    from icp_agent.ingest import importer
    from icp_agent.workspace import Workspace

    unique = _as_parquet(
        tmp_path,
        write(
            "unique.csv",
            CUSTOMERS.replace("c3,Crane,Software,300,2021-03-15,,", "c9,Crane,Software,300,2021-03-15,,", 1),
        ),
    )
    builds: list = []
    real = importer._build_snapshot
    monkeypatch.setattr(
        importer, "_build_snapshot", lambda *a, **k: builds.append(k.get("repeated_rows")) or real(*a, **k)
    )
    threads = threading.active_count()
    assert import_file(Workspace(tmp_path / "unique.duckdb"), unique, "customers").duplicates_dropped == 0
    assert builds == [None]
    (tmp_path / "customers.parquet").unlink()
    repeated = _as_parquet(tmp_path, write("customers.csv", CUSTOMERS))
    builds.clear()
    ws = Workspace(tmp_path / "speculative.duckdb")
    with ws.transaction() as con:
        before = con.execute("SELECT current_setting('memory_limit')").fetchone()
        report = importer.import_into(con, repeated, "customers")
        assert con.execute("SELECT current_setting('memory_limit')").fetchone() == before
    assert builds == [None, [3]] and (report.duplicates_dropped, report.rows_kept) == (1, 4)  # row 4 repeats row 3
    monkeypatch.setattr(importer, "_DuplicateSearches", lambda: _NoSearch())  # the search run first, alone
    first = import_file(Workspace(tmp_path / "first.duckdb"), repeated, "customers")
    assert first.model_dump(exclude={"imported_at"}) == report.model_dump(exclude={"imported_at"})
    assert rows(ws, "customers") == rows(Workspace(tmp_path / "first.duckdb"), "customers")
    assert threading.active_count() == threads


class _NoSearch:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


def test_an_import_failing_beside_its_search_stops_it_and_a_failed_search_fails_the_import(
    tmp_path, write, monkeypatch
):
    import threading

    import duckdb

    from icp_agent.ingest import importer
    from icp_agent.workspace import Workspace

    source = _as_parquet(tmp_path, write("customers.csv", CUSTOMERS))
    threads = threading.active_count()

    def fail(*args, **kwargs):
        raise UserError("a mapping problem found while profiling")

    with monkeypatch.context() as patch:
        patch.setattr(importer, "plan_columns", fail)
        with pytest.raises(UserError, match="while profiling"):
            import_file(Workspace(tmp_path / "a.duckdb"), source, "customers")
    assert threading.active_count() == threads  # the search was interrupted and joined

    def out_of_memory(*args, **kwargs):  # the search's sort, on its own connection
        raise duckdb.OutOfMemoryException("could not allocate")

    monkeypatch.setattr(importer, "drop_duplicate_rows", out_of_memory)
    with pytest.raises(UserError, match="ran out of memory importing it"):  # the search's error, said as the user's
        import_file(Workspace(tmp_path / "b.duckdb"), source, "customers")
    assert threading.active_count() == threads and _imports(Workspace(tmp_path / "b.duckdb")) == 0


@pytest.mark.slow
def test_a_large_csv_leaves_no_row_groups_the_checkpoint_would_merge(ws, tmp_path):
    """A CSV read in buffers of 1.75 row groups is stored as whole row groups and rests of about 3/4 of one: no two
    rests side by side fit one row group, which DuckDB's checkpoint would rewrite (0.4-0.7 s a million rows)."""
    from icp_agent.ingest import reader

    path = tmp_path / "customers.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("company_id,company_name,industry,employees\n")
        for i in range(700_000):
            out.write(f"c{i},Company number {i},{('Software', 'Retail', 'Banking')[i % 3]},{i % 5000}\n")
    source = inspect_file(path)
    assert reader.csv_buffer_size(source) is not None  # read in buffers of its own (31 MB, 3 buffers)
    import_file(ws, path, "customers")
    with ws.read() as con:
        table = con.execute("SELECT table_name FROM imports").fetchone()[0]
        counts = [
            c
            for (c,) in con.execute(
                f"SELECT max(count) FROM pragma_storage_info('{table}') WHERE column_name = '_row' "
                "GROUP BY row_group_id ORDER BY row_group_id"
            ).fetchall()
        ]
    assert sum(counts) == 700_000 and len(counts) > 6
    full = reader.DUCKDB_ROW_GROUP_ROWS
    # the checkpoint merges row groups side by side that fit in fewer: every rest but the file's last is over half
    assert all(c == full or c > full // 2 for c in counts[:-1]), counts


def test_the_write_memory_grows_with_the_staged_rows_size():
    """Rows held in memory at 1 kB each get WRITE_ROW_GROUPS row groups a thread of them; short rows WRITE_MEMORY."""
    import duckdb

    from icp_agent.ingest import importer

    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.execute("CREATE TEMP TABLE _stage AS SELECT i::VARCHAR AS id, 'Acme' AS name FROM range(100000) t(i)")
    assert importer._write_memory(con, 100_000) == importer.WRITE_MEMORY
    con.execute("DROP TABLE _stage")
    con.execute("CREATE TEMP TABLE _stage AS SELECT repeat('x', 1000) || i AS notes FROM range(100000) t(i)")
    held = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()[0]
    assert held > 100e6
    expected = importer.WRITE_ROW_GROUPS * 2 * 122_880 * held // 100_000
    assert importer._write_memory(con, 100_000) == expected > importer.WRITE_MEMORY


def test_running_out_of_memory_is_a_user_error_naming_the_file_and_the_setting(ws, write, monkeypatch):
    import duckdb

    from icp_agent.ingest import importer

    def out_of_memory(con, rows):
        raise duckdb.OutOfMemoryException("Out of Memory Error: could not allocate block of size 256.0 KiB")

    monkeypatch.setattr(importer, "_write_memory", out_of_memory)  # where the write's memory is sized
    with pytest.raises(UserError, match="ran out of memory importing it") as err:
        import_file(ws, write("customers.csv", CUSTOMERS), "customers")
    assert err.value.file == "customers.csv" and "ICP_AGENT_MEMORY_LIMIT" in (err.value.hint or "")
    assert _imports(ws) == 0

