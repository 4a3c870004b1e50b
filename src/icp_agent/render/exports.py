"""CRM-ready files and the sales playbook: where the ICP meets the CRM and the sales floor.

Every figure here comes from ONE scored table: the workspace's customers and prospects scored
once by `scoring.scored_relation` (the same SQL as `icp-agent score-prospects`), so the CRM files, routing.csv
and the playbook's counts agree with a scored prospect file row for row.

- hubspot_companies.csv: a HubSpot company import. HubSpot matches on "Record ID" when it holds a
  HubSpot record id, otherwise on "Company Domain Name". "Record ID" is filled only when the id
  column came from a HubSpot export (its original header, kept in the import report, is one of
  HubSpot's: "Record ID", "Company ID", "hs_object_id", "HubSpot Company ID", ...) and holds
  digits: a Pipedrive organisation id or any other CRM's number would update the wrong HubSpot
  record.
- salesforce_accounts.csv: an Account import. "Id" is filled only when it holds a Salesforce id
  (15 or 18 letters and digits, not all digits); otherwise it stays empty and the row matches on
  Website. The score fields are custom fields with the scored file's names (Fit_Score__c, ...).
- Both files end with the company's own id as imported, whatever the CRM ("Source Record ID",
  "Source_Record_ID__c": a Close lead id, a Pipedrive organisation id), for a user who keeps it in a
  property or an External ID field and re-imports on it.
- crm_scores.csv: for any other CRM (Close, Pipedrive, Attio, Copper, Zoho, Dynamics 365), every scored
  customer and prospect under its id as imported, in a column named by the import's own id header
  ("id" for Close's leads, "Record Id" for Zoho): the CRM's import matches its own id column.
- Rows that neither CRM could match (no usable id and no domain) are left out of that file, and
  each file's count of left-out rows is added to icp.json's warnings (and so to the document and
  the run summary); crm_scores.csv keeps them.
- routing.csv and playbook.md: the routing table (high priority to senior AEs, medium to AEs,
  low to SDR nurture), a one-page qualification checklist from the tiers and disqualifiers, and
  a beachhead -> expand plan.
Columns in the three CRM files: icp_tier ("Tier 1" .. / "Not ICP"), icp_segment, fit_points, fit_score,
priority, grade, fit_reasons ("industry Computer Software (+27); ..."), disqualified_by.
"""

from __future__ import annotations

from pathlib import Path

from icp_agent import numbers
from icp_agent.icp_document import IcpDocument, MarketTier, TierMetrics
from icp_agent.render.tabular import write_rows, write_tables
from icp_agent.render.templating import md
from icp_agent.scorecard.scoring import scored_relation
from icp_agent.sql import columns_of, one
from icp_agent.sql import quote_identifier as _q
from icp_agent.workspace import Workspace

ROUTES = (
    ("high", "Senior AE", "work now: direct outreach within 24 hours"),
    ("medium", "AE", "work this week: sequenced outreach"),
    ("low", "SDR nurture", "marketing nurture; re-score monthly"),
)
CRM_FIELDS = (
    "icp_tier",
    "icp_segment",
    "fit_points",
    "fit_score",
    "priority",
    "priority_reason",
    "grade",
    "fit_reasons",
    "disqualified_by",
)
HUBSPOT_RECORD_ID = "^[0-9]{1,20}$"
# HubSpot's own headers for a company's record id, compared lower-case with spaces, _ and - removed
HUBSPOT_ID_HEADERS = frozenset(
    {
        "recordid",
        "companyid",
        "hsobjectid",
        "hubspotcompanyid",
        "hubspotid",
        "hubspotrecordid",
        "companyrecordid",
        "objectid",
    }
)
SALESFORCE_ID = "^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$"
# the patterns run only on ids of 15 or 18 characters (a CASE evaluates its THEN on the rows its WHEN selects): a
# CRM's numeric or short ids, most rows of most files, are not each matched against two patterns
_IS_SALESFORCE_ID = (
    "CASE WHEN length(record_id) = 15 OR length(record_id) = 18 "
    f"THEN regexp_matches(record_id, '{SALESFORCE_ID}') AND regexp_matches(record_id, '[a-zA-Z]') ELSE FALSE END"
)


def salesforce_field(name: str) -> str:
    """A score column's Salesforce custom-field API name: fit_score -> Fit_Score__c, icp_tier -> ICP_Tier__c."""
    return "_".join(part.upper() if part == "icp" else part.capitalize() for part in name.split("_")) + "__c"


def _scored_sql(con, table: str, icp: IcpDocument) -> tuple[str, set[str]]:
    columns = set(columns_of(con, table))
    return scored_relation(icp, table, columns), columns


def _text(column: str, columns: set[str]) -> str:
    return f"CAST({_q(column)} AS VARCHAR)" if column in columns else "NULL::VARCHAR"


def id_header(con, kind: str) -> str | None:
    """The original header of the current `kind` import's company_id column (from its import report), or None."""
    import json

    row = con.execute(
        """SELECT i.report FROM current_snapshot c JOIN imports i USING (import_id)
                         WHERE c.kind = ?""",
        [kind],
    ).fetchone()
    if not row:
        return None
    columns = json.loads(row[0]).get("columns") or []
    return next((c.get("header") for c in columns if c.get("field") == "company_id"), None)


def is_hubspot_id_header(header: str | None) -> bool:
    """True when a column header is HubSpot's name for a company's record id ("Record ID", "hs_object_id", ...)."""
    if not header:
        return False
    return "".join(ch for ch in header.lower() if ch.isalnum()) in HUBSPOT_ID_HEADERS


def generic_id_column(headers: list[str | None]) -> str:
    """crm_scores.csv's id column: the imports' own id header (the first kind's that has one: "id" for Close),
    so a CRM's import matches its own column; "record_id" when none was imported or the header would clash with
    another column of the file."""
    header = next((h for h in headers if h), None)
    taken = {"source", "name", "domain", *CRM_FIELDS}
    return header if header and header.strip().lower() not in taken else "record_id"


def write_crm_exports(
    ws: Workspace, icp: IcpDocument, out: Path, customers: tuple[str, set[str]] | None = None
) -> tuple[dict[str, int], dict[str, int]]:
    """hubspot_companies.csv, salesforce_accounts.csv, crm_scores.csv and routing.csv; returns (rows per file,
    prospects per priority). Customers and prospects are scored once, into one table every file reads. Rows a
    CRM file leaves out (no id it can use, no domain) are counted into `icp.warnings`; crm_scores.csv has every
    row under its imported id. The three files are written side by side (tabular.write_tables) from the scored
    table, kept in an in-memory database attached for the while (every writer's cursor sees it; a TEMP table is
    its own connection's), and COPY's own counts are the rows written (the files are not read back). `customers`:
    the current customers already scored, as (a relation with their columns and SCORE_COLUMNS, its columns), read
    instead of scoring them again (the build passes its frame's stored scores: toolkit.write_icp_outputs)."""
    from uuid import uuid4

    counts: dict[str, int] = {}
    with ws.connect() as con:
        parts = []
        headers: list[str | None] = []
        for kind in ("customers", "prospects"):
            table = ws.current_table(con, kind)
            if not table:
                continue
            scored, columns = customers if customers and kind == "customers" else _scored_sql(con, table, icp)
            headers.append(id_header(con, kind))
            hubspot_id = "record_id" if is_hubspot_id_header(headers[-1]) else "NULL::VARCHAR"
            parts.append(f"""SELECT '{kind}' AS source, record_id, {hubspot_id} AS hubspot_id, domain, name,
                                    {", ".join(_q(c) for c in CRM_FIELDS)}
                             FROM (SELECT {_text("company_id", columns)} AS record_id,
                                          {_text("domain", columns)} AS domain, {_text("company_name", columns)} AS name,
                                          {", ".join(_q(c) for c in CRM_FIELDS)} FROM {scored})""")
        if not parts:
            return counts, {}
        scratch = f"_icp_crm_{uuid4().hex[:12]}"
        con.execute(f"ATTACH ':memory:' AS {scratch}")
        try:
            by_priority = _write_crm_files(con, f"{scratch}.crm", parts, headers, icp, out, counts)
        finally:
            con.execute(f"DETACH {scratch}")
    write_rows(
        out / "routing.csv",
        ["priority", "owner", "play", "prospects"],
        [(p, owner, play, by_priority.get(p, 0)) for p, owner, play in ROUTES],
    )
    counts["routing.csv"] = len(ROUTES)
    return counts, by_priority


def _write_crm_files(
    con, crm: str, parts: list[str], headers: list[str | None], icp: IcpDocument, out: Path, counts: dict[str, int]
) -> dict[str, int]:
    """The three CRM files from the scored rows `parts` (one SELECT per kind), stored once as the table `crm`;
    fills `counts` (rows per file) and icp.warnings (rows a file leaves out); returns prospects per priority."""
    # sorted once here, not once per file: a table keeps its insertion order when scanned (DuckDB's
    # preserve_insertion_order, on by default), so each COPY below writes its rows in this order unsorted; which
    # CRM can match a row by its id is decided once here too (a regular expression per row), not once per file
    is_hubspot = f"coalesce(regexp_matches(hubspot_id, '{HUBSPOT_RECORD_ID}'), FALSE)"
    is_salesforce = f"coalesce({_IS_SALESFORCE_ID}, FALSE)"
    scored_rows = (
        f"SELECT *, {is_hubspot} AS hubspot_ok, {is_salesforce} AS salesforce_ok FROM ({' UNION ALL '.join(parts)})"
    )
    # by source and id, which name nearly every row alone (an export's ids); where two rows share them (no id, or the
    # same id twice), by every other column too, so rows alike there do not come in the order the engine's threads
    # happened to finish them. The same order either way; the two keys alone cost 0.7 s of CPU at 1M rows against
    # 1.4-2.0 s for all of them, and proving the ids unique 0.08 s
    con.execute(f"CREATE TABLE {crm} AS {scored_rows} ORDER BY source, record_id")
    if one(con, f"SELECT count(*) > count(DISTINCT (source, record_id)) FROM {crm}"):
        con.execute(
            f"CREATE OR REPLACE TABLE {crm} AS {scored_rows} "
            f"ORDER BY source, record_id, domain, name, {', '.join(_q(c) for c in CRM_FIELDS)}"
        )
    fields = "CASE WHEN icp_tier IS NULL THEN 'Not ICP' ELSE 'Tier ' || icp_tier END AS {tier}, " + ", ".join(
        f"{_q(c)} AS {{{c}}}" for c in CRM_FIELDS[1:]
    )
    hubspot = fields.format(**{c: _q(c) for c in CRM_FIELDS}, tier=_q("icp_tier"))
    salesforce = fields.format(
        **{c: _q(salesforce_field(c)) for c in CRM_FIELDS}, tier=_q(salesforce_field("icp_tier"))
    )
    files = {
        "hubspot_companies.csv": f"""
            SELECT CASE WHEN hubspot_ok THEN hubspot_id END AS "Record ID",
                   domain AS "Company Domain Name", name AS "Company name", {hubspot},
                   record_id AS "Source Record ID"
            FROM {crm} WHERE hubspot_ok OR domain IS NOT NULL""",
        "salesforce_accounts.csv": f"""
            SELECT CASE WHEN salesforce_ok THEN record_id END AS "Id", name AS "Name", domain AS "Website",
                   {salesforce}, record_id AS "Source_Record_ID__c"
            FROM {crm} WHERE salesforce_ok OR domain IS NOT NULL""",
        "crm_scores.csv": f"""
            SELECT source, record_id AS {_q(generic_id_column(headers))}, name, domain, {hubspot} FROM {crm}""",
    }
    # crm_scores.csv (every row) first: written on `con`, whose progress the build reports
    names = ["crm_scores.csv", "hubspot_companies.csv", "salesforce_accounts.csv"]
    rows = write_tables(con, [(files[name], out / name) for name in names])  # neutralises formula-like cells
    counts.update((name, rows[names.index(name)]) for name in files)
    # one scan for both: the rows each file left out per kind, and the prospects per priority
    groups = con.execute(f"""SELECT source, priority, count_if(NOT hubspot_ok AND domain IS NULL),
                                    count_if(NOT salesforce_ok AND domain IS NULL), count(*)
                             FROM {crm} GROUP BY source, priority""").fetchall()
    left_out: dict[str, list[int]] = {}
    for source, _, hubspot_out, salesforce_out, rows_of in groups:
        sums = left_out.setdefault(source, [0, 0, 0])
        sums[0], sums[1], sums[2] = sums[0] + hubspot_out, sums[1] + salesforce_out, sums[2] + rows_of
    for source, (hubspot_out, salesforce_out, total) in sorted(left_out.items()):
        for name, missed, id_word in (
            ("hubspot_companies.csv", hubspot_out, "HubSpot record id"),
            ("salesforce_accounts.csv", salesforce_out, "Salesforce id"),
        ):
            warning = (
                f"CRM files: {missed:,} of {total:,} {source} left out of {name}: they have neither a "
                f"{id_word} nor a domain, so the CRM could not match them; add a website/domain column "
                f"to the {source} export, or, for a CRM that updates records by its own id (Close, Dynamics "
                f"365, Pipedrive, Zoho), import crm_scores.csv: every row under its id as imported"
            )
            if missed and warning not in icp.warnings:
                icp.warnings.append(warning)
    return {priority: n for source, priority, _, _, n in groups if source == "prospects"}


def _criteria_text(criteria) -> str:
    return md(" AND ".join(c.label for c in criteria))


def render_playbook(icp: IcpDocument, routing: dict[str, int] | None = None) -> str:
    """The one-page qualification checklist, routing table and beachhead -> expand plan (markdown). Every value
    from the data (labels, segment names, reasons) goes through templating.md, the one markdown escape."""
    lines = [f"# Sales playbook ({md(icp.id)})", ""]
    if icp.status != "ok":
        lines += [
            "No significant ICP in this data, so there is nothing to qualify against yet.",
            "",
            md(icp.no_icp_reason or ""),
            "",
        ]
        return "\n".join(lines)
    lines += [
        "## Qualification checklist",
        "",
        "Ask these before booking a demo. Evidence ids point to icp.md's appendix.",
        "",
    ]
    for tier in sorted(icp.tiers, key=lambda t: (t.tier, t.segment)):
        m = tier.metrics
        lines.append(
            f"**Tier {tier.tier} ({md(tier.segment)})** [{', '.join(tier.evidence)}]: "
            + _tier_count(icp, m)
            + (f", churn {numbers.percent(m.churn_rate)}" if m.churn_rate is not None else "")
        )
        lines += [f"- [ ] {md(c.label)}" for c in tier.criteria]
        lines.append("")
    if icp.negative_icp:
        lines += ["**Stop (negative ICP)**: disqualify, or escalate before investing time, if any is true:", ""]
        for d in icp.negative_icp:
            lines.append(f"- [ ] {_criteria_text(d.criteria)}: {md(d.reason)} [{', '.join(d.evidence)}]")
        lines.append("")
    lines += ["## Routing", "", "| priority | owner | play | prospects |", "|---|---|---|---|"]
    for priority, owner, play in ROUTES:
        lines.append(f"| {priority} | {owner} | {play} | {(routing or {}).get(priority, 0):,} |")
    lines += ["", "## Beachhead, then expand", ""]
    market = {
        row.tier: row for row in (icp.validation.market.tiers if icp.validation and icp.validation.market else [])
    }
    tier1 = [t for t in icp.tiers if t.tier == 1]
    for step, tier in enumerate(tier1, start=1):
        row = market.get(tier.name, MarketTier())
        lines.append(
            f"{step}. Beachhead {md(tier.segment)}: {_criteria_text(tier.criteria)} ({md(_market_size(icp, row))})."
        )
    adjacent = _adjacent(icp, market)
    if adjacent:
        lines += ["", "Then expand, in this order (ranked by lift, market size and room left):", ""]
        for step, (label, lift, size, penetration, evidence, basis) in enumerate(adjacent, start=len(tier1) + 1):
            lines.append(
                f"{step}. {md(label)}: lift {numbers.ratio(lift)} {basis}"
                + (f", {size:,} prospects" if size is not None else "")
                + (f", {numbers.percent(penetration)} penetrated" if penetration is not None else "")
                + f" [{evidence}]"
            )
    return "\n".join(lines) + "\n"


def _market_size(icp: IcpDocument, row: MarketTier) -> str:
    """A tier's market size in words, or why it was not measured: the tier's own reason (the prospect list lacks
    a field of its criteria), else the market's ("not measurable: ..."), else that no prospect list was given."""
    if row.prospects is not None:
        return f"{row.prospects:,} prospects, {numbers.percent(row.penetration or 0)} penetrated"
    market = icp.validation.market if icp.validation else None
    reason = row.status
    if not reason and market is not None and market.status:
        reason = f"{market.status}: {market.reason}" if market.reason else market.status
    if reason:
        return "market size " + reason.replace("not measurable", "not measured", 1)
    if market is not None and market.prospects is not None:
        return "market size not measured for this tier"
    return "market size not measured (no prospect list)"


def _criterion_key(c) -> tuple:
    """A criterion's identity (field, op and its values), whatever its label's wording."""
    return (c.field, c.op, c.value, tuple(c.values or ()), c.min, c.max)


def _tier_count(icp: IcpDocument, m: TierMetrics) -> str:
    """How many customers a tier has today: companies, not deals ("12 customers today (40 closed deals, ...)")."""
    if icp.health.entity != "deal":
        return f"{m.n or 0:,} customers today"
    deals = f"{m.n or 0:,} closed deals, {m.n_good or 0:,} won"
    if m.customers is None:
        return deals
    return f"{m.customers:,} customers today ({deals}, across {m.companies or 0:,} companies)"


def _adjacent(icp: IcpDocument, market: dict[str | None, MarketTier]) -> list[tuple]:
    """Tier 2/3 segments and significant good patterns beyond Tier 1, best first. A pattern that holds all of a
    tier's criteria (its rows are inside that tier) or only re-cuts a Tier 1's fields repeats a step: left out.

    Returns (label, lift, prospects, penetration, evidence id, basis) tuples. The two lifts are different
    measures, so `basis` names each: a tier's counts only its own entities (those of a better tier are counted
    there, as in the tier tables), a pattern's every entity with the trait (as in the traits table)."""
    tier1_fields = [{c.field for c in t.criteria} for t in icp.tiers if t.tier == 1]
    tier_criteria = [{_criterion_key(c) for c in t.criteria} for t in icp.tiers]
    candidates = []
    for tier in icp.tiers:
        if tier.tier == 1:
            continue
        row = market.get(tier.name, MarketTier())
        rate = tier.metrics.good_rate
        base = icp.health.n_good / icp.health.n if icp.health.n else None
        lift = rate / base if rate is not None and base else 1.0
        better = sorted({f"Tier {t.tier}" for t in icp.tiers if t.segment == tier.segment and t.tier < tier.tier})
        own = numbers.percent(rate) if rate is not None else "n/a"
        basis = (
            f"({icp.health.good_words or 'good'} {own} vs {numbers.percent(base or 0)} overall, on this tier's own "
            f"{icp.health.entity}s: those also in {' or '.join(better) or 'a better tier'} count there)"
        )
        candidates.append(
            (tier.name, lift, row.prospects, row.penetration, tier.evidence[0] if tier.evidence else "", basis)
        )
    for p in icp.patterns:
        variant = any({c.field for c in p.criteria} <= fields for fields in tier1_fields)  # Tier 1 re-cut
        variant = variant or any(criteria <= {_criterion_key(c) for c in p.criteria} for criteria in tier_criteria)
        if p.direction == "good" and p.q_value < 0.05 and not variant and all(p.label not in c[0] for c in candidates):
            candidates.append(
                (
                    p.label,
                    p.lift,
                    None,
                    None,
                    p.evidence,
                    f"({icp.health.good_words or 'good'} {numbers.percent(p.rate)} vs {numbers.percent(p.base_rate)} "
                    f"overall, on every {icp.health.entity} with the trait, as in the traits table)",
                )
            )
    candidates.sort(key=lambda c: (-c[1], -(c[2] or 0), c[3] if c[3] is not None else 1.0, c[0]))
    return candidates[:5]
