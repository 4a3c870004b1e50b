"""Which fit fields may become criteria: leakage, identifiers and missingness, screened before the search.

A subgroup search finds whatever separates good from bad, including fields that are not traits
of a kind of business. These kinds are screened out here, each with its reason:

- **outcome-named (leakage)**: a field whose name or original header says it counts or
  describes outcomes: won / lost / closed / open deals (Pipedrive's organisation export carries
  "Won deals", "Lost deals", "Closed deals", "Open deals"; HubSpot's "Number of closed won
  deals"), a lost / churn / close reason, a (win) probability, a weighted value. These are known
  only after the sale, whatever their figures (`outcome_named`).
- **customer status (leakage)**: a category field that records the account's relation to the seller
  (a lifecycle stage, an account or business type, a customer status): its name says so (lifecycle
  stage, customer status) or its values do: one names customers (customer, client, churned, ...) and
  another a relation or state (prospect, lead, partner, reseller, former, active, ...). "Business
  type in {Customer, Partner}" tells a won account from a prospect because winning changed it; a
  prospect list never holds the customers' value (`customer_status`).
- **outcome-pure value (leakage)**: one value of the field (or, for numbers, one run of
  neighbouring values) holds a sizeable share of the rows (at least `PURE_MIN_SHARE` = 5% and
  `PURE_MIN_ROWS` = 30) and is (near) 100% one outcome (at most `PURE_TOLERANCE` = 2% of its
  rows are not), while the base rate is not extreme: at least `PURE_MIN_EXPECTED` = 10 of those
  rows would be expected outside that outcome. "Lost deals = 0" on every won deal, or a lost
  reason filled only on lost deals, is; a firmographic trait never is, because customers with
  any pre-sale trait still sometimes succeed and sometimes fail. This catches leakage the AUC
  misses when the field is informative on one value only.

- **outcome-derived (leakage)**: a field that on its own separates good from bad almost
  perfectly. The rule: its single-field AUC (good vs bad rows, missing values treated as a value
  of their own, so "filled only for churned customers" counts) is at least `LEAKAGE_AUC` = 0.95
  (or at most 0.05). No pre-sale trait of a B2B account predicts an outcome that well; a
  charged-off amount that is non-zero exactly for bad loans or a churn reason filled only for
  churned customers does. A user who knows the field is observable before the sale brings it
  back with a role override (`icp-agent set-field-roles FIELD=fit`): fields in `confirmed` are kept.
- **identifier-like**: a category field with a distinct value on (nearly) every row (ids,
  names, domains, free text), or a plain number field whose values are whole numbers, distinct
  on at least 95% of rows (a running number or an id; quantities and money repeat or are typed
  as money). Their ranges mark when a record was created, not what a customer is.
- **missingness**: "is missing" is never a criterion (it marks how records were kept, e.g. an
  era before a field existed). When missingness over-indexes among the good or the bad
  (Fisher exact, Benjamini-Hochberg over every field and direction), it is reported as a
  data-quality finding instead, and the values of that field are then judged against the rows
  where it is known (`known_rows`): otherwise every value would inherit the era's outcome.

AUC here is the Mann-Whitney statistic computed from per-value counts: values are ordered (numbers
by value, categories by their good share among good and bad rows, with values rarer than
`min_count` pooled so a small value cannot look perfect by chance), and
AUC = sum over values of good_v * (bad rows ranked below + bad_v / 2) / (good * bad).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import numpy as np

from icp_agent import numbers
from icp_agent.health.health_score import CUSTOMER_VALUE, NOT_CUSTOMER_VALUE
from icp_agent.patterns.selectors import FieldSpec
from icp_agent.patterns.stats import benjamini_hochberg, fisher_exact_many
from icp_agent.sql import quote_identifier

LEAKAGE_AUC = 0.95
PURE_MIN_SHARE = 0.05  # a value (or run of values) holding at least this share of rows ...
PURE_MIN_ROWS = 30  # ... and at least this many rows ...
PURE_TOLERANCE = 0.02  # ... with at most this share outside one outcome ...
PURE_MIN_EXPECTED = 10  # ... where at least this many rows would be expected outside it: leakage
# words of a field name or header that count or describe outcomes (matched on lower-case word tokens)
_OUTCOME_STATES = r"(won|lost|closed|open|win|wins|loss|losses)"
_OUTCOME_NAME_PATTERNS = (
    rf"\b{_OUTCOME_STATES}\b.*\b(deals?|opportunit(y|ies)|opps?|orders?)\b",  # "Won deals", "open opportunities"
    rf"\b(deals?|opportunit(y|ies)|opps?)\b.*\b{_OUTCOME_STATES}\b",  # "deals won", "opportunities lost"
    r"\bclosed (won|lost)\b",
    r"\b(lost|loss|churn|churned|cancell?ation|cancell?ed|close|closed|won|win|disqualification|disqualified)"
    r"\b.*\breasons?\b",  # "Lost reason", "churn reason"
    r"\breasons? (lost|for (loss|losing|churn|cancell?ation))\b",
    r"\b(win )?probability\b",
    r"\bwin (rate|likelihood|chance)\b",
    r"\bweighted\b",
)
# names of a field that records customer status, and the words of a status value beside CUSTOMER_VALUE's
_STATUS_NAME_PATTERNS = (r"\blife ?cycle\b", r"\b(customer|client) (status|stage|type)\b")
_STATUS_WORD = rf"{CUSTOMER_VALUE}|{NOT_CUSTOMER_VALUE}|\b(active|inactive|former|current|paying|ex)\b"
# a record's state: active beside deactivated (Dynamics' account Status): churn or cleanup, known after the sale
_RECORD_ON = r"^\s*(active|enabled)\s*$"
_RECORD_OFF = r"^\s*(inactive|deactivated|disabled|archived|not active)\s*$"
ID_DISTINCT_SHARE = 0.95  # plain numbers: whole and distinct on this share of rows
TEXT_DISTINCT_SHARE = 0.5  # categories: distinct on this share of rows ...
TEXT_MIN_VALUES = 50  # ... and at least this many values


@dataclass
class Screen:
    """The outcome of screening: the fields that may become criteria and why the others may not.

    excluded: one dict per screened-out field: field, rule ("leakage" | "identifier"), reason
    (a sentence), and the figures (auc, distinct, rows). missingness: per field with missing rows
    and an over-indexing missing share: field, direction, n (rows missing), k (of them in that
    direction), rate, base_rate, p_value, q_value.
    """

    kept: list[FieldSpec]
    excluded: list[dict] = field(default_factory=list)
    missingness: list[dict] = field(default_factory=list)


def screen_fields(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    specs: list[FieldSpec],
    *,
    types: dict[str, str] | None = None,
    confirmed: set[str] | frozenset[str] = frozenset(),
    min_count: int = 10,
    alpha: float = 0.05,
    headers: dict[str, str] | None = None,
    entity: str = "row",
    words: tuple[str, str] = ("good", "bad"),
    screened: Callable[[], None] = lambda: None,
) -> Screen:
    """Screen `specs` (module doc). `relation` has boolean `good` and `bad` columns and the fields in
    the layout of FieldSpec; its rows missing every field (of two or more) are left out: a deal that links to
    no company has none of its fields, which says how it was linked, not how each field was kept or what it
    predicts (ingest/linking.py counts those deals once), and mostly lost, it would read as each field's
    "missing" being outcome-pure; `types` maps a field to its import type (money and percent numbers are
    never identifier-like); fields in `confirmed` (a user's explicit fit role) are never excluded.
    `headers` (field -> original header) are read by the outcome-name rule beside the field names;
    `entity` ("deal", "customer") and `words` (what good and bad rows are, e.g. ("won", "lost"))
    word the reasons. `screened()` is called after each field (progress: fields screened)."""
    types = types or {}
    if len(specs) > 1:  # rows missing every field (of two or more) are left out of every rule
        relation = f"(SELECT * FROM {relation} WHERE NOT ({' AND '.join(_missing_sql(s) for s in specs)}))"
    n_good, n_bad, n = con.sql(f"SELECT count_if(good), count_if(bad), count(*) FROM {relation}").fetchall()[0]
    # the identifier rule's counts of every field screened, in one scan of the rows (a statement per field before)
    summaries = _summaries(con, relation, [s for s in specs if s.name not in confirmed])
    screen = Screen(kept=[])
    for spec in specs:
        rule = None
        if spec.name not in confirmed:
            # the AUC and the outcome-pure rules read the same counts per value: one scan serves both
            counts = _ValueCounts(con, relation, spec)
            rule = (
                outcome_named(spec.name, (headers or {}).get(spec.name))
                or customer_status(spec, (headers or {}).get(spec.name), counts)
                or _excluded(
                    con,
                    relation,
                    spec,
                    types.get(spec.name),
                    n_good,
                    n_bad,
                    min_count,
                    counts,
                    summaries.get(spec.name),
                )
                or _outcome_pure(con, relation, spec, n, n_good, n_bad, entity, words, counts)
            )
        if rule:
            screen.excluded.append({"field": spec.name, **rule})
        else:
            screen.kept.append(spec)
        screened()
    screen.missingness = _missingness(con, relation, screen.kept, n, n_good, n_bad, min_count, alpha)
    return screen


class _ValueCounts:
    """(value, rows, good rows, bad rows) per value of a non-list field, missing first then ascending (numbers and
    bands as DOUBLE, categories as text), counted on first use and kept for the next rule that asks."""

    def __init__(self, con: duckdb.DuckDBPyConnection, relation: str, spec: FieldSpec):
        self.con, self.relation, self.spec = con, relation, spec
        self._rows: list[tuple] | None = None

    def rows(self) -> list[tuple]:
        if self._rows is None:
            column = _value_column(self.spec)
            value = f"{column}::DOUBLE" if self.spec.kind in ("number", "band") else f"{column}::VARCHAR"
            self._rows = self.con.sql(
                f"SELECT {value} AS v, count(*), count_if(good), count_if(bad) FROM {self.relation} "
                "GROUP BY v ORDER BY v NULLS FIRST"
            ).fetchall()
        return self._rows


def _summary_sql(spec: FieldSpec) -> str:
    """The identifier rule's counts of one field: its values, its distinct values, whether every number is whole."""
    column = _value_column(spec)
    whole = f"bool_and({column} = round({column}))" if spec.kind == "number" else "NULL"
    return f"count({column}), count(DISTINCT {column}), {whole}"


def _summaries(con, relation: str, specs: list[FieldSpec]) -> dict[str, tuple]:
    """{field: (values, distinct values, all whole or None)} of every spec, from one statement over `relation`."""
    if not specs:
        return {}
    row = con.sql(f"SELECT {', '.join(_summary_sql(s) for s in specs)} FROM {relation}").fetchall()[0]
    return {s.name: tuple(row[3 * i : 3 * i + 3]) for i, s in enumerate(specs)}


def _excluded(
    con,
    relation: str,
    spec: FieldSpec,
    import_type: str | None,
    n_good: int,
    n_bad: int,
    min_count: int,
    counts: _ValueCounts | None = None,
    summary: tuple | None = None,
) -> dict | None:
    """The identifier and leakage rules' exclusion of one field, else None. `summary`: the field's counts
    (_summaries), when the caller has them."""
    rows, distinct, whole = summary or con.sql(f"SELECT {_summary_sql(spec)} FROM {relation}").fetchall()[0]
    if spec.kind == "category" and distinct >= TEXT_MIN_VALUES and distinct >= TEXT_DISTINCT_SHARE * rows:
        return {
            "rule": "identifier",
            "distinct": distinct,
            "rows": rows,
            "reason": f"{spec.name} has {distinct:,} distinct values on {rows:,} rows: an identifier, a name or "
            f"free text, not a trait a segment can share",
        }
    if (
        spec.kind == "number"
        and import_type not in ("money", "percent")
        and whole
        and rows
        and distinct >= ID_DISTINCT_SHARE * rows
        and distinct >= TEXT_MIN_VALUES
    ):
        return {
            "rule": "identifier",
            "distinct": distinct,
            "rows": rows,
            "reason": f"{spec.name} holds whole numbers distinct on {numbers.percent(distinct / rows, 0)} of rows: a "
            f"running number or id, whose ranges mark when a record was made, not a kind of customer",
        }
    if not n_good or not n_bad:
        return None
    auc = single_field_auc(con, relation, spec, min_count, counts)
    if auc is not None and max(auc, 1 - auc) >= LEAKAGE_AUC:
        return {
            "rule": "leakage",
            "auc": round(auc, 4),
            "reason": f"{spec.name} alone separates good from bad almost perfectly (AUC {numbers.auc(max(auc, 1 - auc))}, "
            f"where 0.5 is no information; the limit is {LEAKAGE_AUC}): it is most likely derived from "
            f"the outcome. "
            f"If a seller can know it before the sale, bring it back with: icp-agent set-field-roles "
            f"{spec.name}=fit",
        }
    return None


def outcome_named(name: str, header: str | None = None) -> dict | None:
    """The outcome-name rule (module doc): an exclusion when the field's name or header counts or
    describes outcomes ("Won deals", "Lost reason", "Deal - Probability", "weighted value"), else None."""
    for text in dict.fromkeys(t for t in (name, header) if t):
        tokens = " ".join(re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower()))
        if any(re.search(pattern, tokens) for pattern in _OUTCOME_NAME_PATTERNS):
            shown = f"{name} ({header!r})" if header and header != name else name
            return {
                "rule": "leakage",
                "basis": "name",
                "reason": f"{shown} counts or describes outcomes (won, lost, closed or open deals, a lost "
                f"reason, a probability, a weighted value): it is known only after the sale and "
                f"would let the outcome explain itself. If a seller can know it before the sale, "
                f"bring it back with: icp-agent set-field-roles {name}=fit",
            }
    return None


def customer_status(spec: FieldSpec, header: str | None = None, counts: _ValueCounts | None = None) -> dict | None:
    """The customer-status rule (module doc): an exclusion when a category field records whether the account is
    a customer, by its name or header ("Lifecycle stage", "Customer status") or by its values (one matching
    CUSTOMER_VALUE and at least one more status word: "Customer" and "Partner", "Active customer" and "Churned",
    together on at least half of its known rows; or a record's state, active beside inactive or deactivated, on at
    least half: Dynamics' account "Status"), else None. `counts` gives the field's values (read when the name does not decide)."""
    if spec.kind != "category":
        return None
    shown = f"{spec.name} ({header!r})" if header and header != spec.name else spec.name
    basis = None
    for text in dict.fromkeys(t for t in (spec.name, header) if t):
        tokens = " ".join(re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower()))
        if any(re.search(pattern, tokens) for pattern in _STATUS_NAME_PATTERNS):
            basis = "name"
    rows = {str(v): total for v, total, *_ in counts.rows() if v is not None} if counts is not None else {}
    values = list(rows)
    status = [v for v in values if re.search(_STATUS_WORD, v.lower())]
    state = [v for v in values if re.search(f"{_RECORD_ON}|{_RECORD_OFF}", v.lower())]
    most = 0.5 * sum(rows.values())
    # two status values, one naming customers, on most rows: an industry list with "Customer service" is no status;
    # or a record's state (active and deactivated) on most rows
    if basis is None and not (
        len(status) >= 2
        and any(re.search(CUSTOMER_VALUE, v.lower()) for v in status)
        and sum(rows[v] for v in status) >= most
    ):
        if not (
            any(re.search(_RECORD_ON, v.lower()) for v in state)
            and any(re.search(_RECORD_OFF, v.lower()) for v in state)
            and sum(rows[v] for v in state) >= most
        ):
            return None
        basis, status = "record state values", state
    listed = ", ".join(repr(v) for v in (status or values)[:6])
    return {
        "rule": "leakage",
        "basis": basis or "status values",
        "reason": f"{shown} records whether an account is a customer"
        + (" or its record was deactivated (churn or cleanup)" if basis == "record state values" else "")
        + (f" (values {listed})" if listed else "")
        + ": it changes when the deal is won or the customer churns, and a prospect never has the customers' "
        f"value, so it would let the outcome explain itself. If a seller can know it before the sale, bring it "
        f"back with: icp-agent set-field-roles {spec.name}=fit",
    }


def _outcome_pure(
    con,
    relation: str,
    spec: FieldSpec,
    n: int,
    n_good: int,
    n_bad: int,
    entity: str,
    words: tuple[str, str],
    counts: _ValueCounts | None = None,
) -> dict | None:
    """The outcome-pure rule (module doc): the largest value or run of values that is (near) all one outcome."""
    if not n or spec.kind == "list":
        return None
    rows = (counts or _ValueCounts(con, relation, spec)).rows()
    least = max(PURE_MIN_ROWS, PURE_MIN_SHARE * n)
    groups: list[tuple[str, int, int, int]] = []  # (label, rows, good, bad)
    for v, total, good, bad in rows:
        groups.append((_value_text(spec, v), total, good, bad))  # each value (missing is one)
    if spec.kind in ("number", "band"):  # runs of neighbouring known values all of one outcome
        known = [(v, t, g, b) for v, t, g, b in rows if v is not None]
        for side in (1, 2):  # 1: good, 2: bad
            start = 0
            while start < len(known):
                end = start
                while end < len(known) and known[end][side] == known[end][1]:
                    end += 1
                if end - start > 1:
                    run = known[start:end]
                    groups.append(
                        (
                            f"from {_number(run[0][0])} to {_number(run[-1][0])}",
                            sum(r[1] for r in run),
                            sum(r[2] for r in run),
                            sum(r[3] for r in run),
                        )
                    )
                start = end + 1 if end == start else end
    worst = None
    for label, total, good, bad in groups:
        for hits, base_hits, word in ((good, n_good, words[0]), (bad, n_bad, words[1])):
            other_rate = 1 - base_hits / n
            if (
                total >= least
                and hits >= (1 - PURE_TOLERANCE) * total
                and total * other_rate >= PURE_MIN_EXPECTED
                and (worst is None or total > worst[1])
            ):
                worst = (label, total, hits, word, base_hits / n)
    if worst is None:
        return None
    label, total, hits, word, base = worst
    return {
        "rule": "leakage",
        "basis": "pure value",
        "value": label,
        "n": total,
        "k": hits,
        "rate": hits / total,
        "base_rate": base,
        "reason": f"{spec.name} {label}: {hits:,} of {total:,} {entity}s ({numbers.percent(hits / total)}) are {word} vs "
        f"{numbers.percent(base)} overall; one value (or range) holding {numbers.percent(total / n, 0)} of the "
        f"{entity}s that is (nearly) all one outcome is not a trait a kind of business shares, it most "
        f"likely counts or "
        f"records the outcome. If a seller can know it before the sale, bring it back with: "
        f"icp-agent set-field-roles {spec.name}=fit",
    }


def _value_text(spec: FieldSpec, value) -> str:
    """One value as the reason shows it: "= 0", "= Price too high", "missing"."""
    if value is None:
        return "missing"
    return f"= {_number(value)}" if isinstance(value, float) else f"= {value}"


def _number(value: float) -> str:
    return numbers.number(value)


def _value_column(spec: FieldSpec) -> str:
    return quote_identifier(f"{spec.name}_min" if spec.kind == "band" else spec.name)


def single_field_auc(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    spec: FieldSpec,
    min_count: int = 10,
    counts: _ValueCounts | None = None,
) -> float | None:
    """AUC of one field for good vs bad rows (module doc); None when there is nothing to order. `counts` (the
    field's counts per value, if the caller has them) saves the scan: values with no good and no bad row are left
    out, as the query over good or bad rows leaves them out."""
    column = _value_column(spec)
    if counts is not None and spec.kind != "list":
        decided = [(v, g, b) for v, _, g, b in counts.rows() if g or b]
        if spec.kind in ("number", "band"):
            return _auc_of([(-np.inf if v is None else v, g, b) for v, g, b in decided])
        return _auc_of(_pooled(decided, min_count))
    if spec.kind == "list":  # only whether the list is filled: elements are screened by the search itself
        rows = con.sql(
            f"SELECT ({column} IS NULL OR len({column}) = 0) AS v, count_if(good), count_if(bad) "
            f"FROM {relation} WHERE good OR bad GROUP BY v"
        ).fetchall()
        return _auc_of([(_share(g, b), g, b) for _, g, b in rows])
    if spec.kind in ("number", "band"):  # missing ranks below every value
        rows = con.sql(
            f"SELECT {column}::DOUBLE AS v, count_if(good), count_if(bad) FROM {relation} WHERE good OR bad GROUP BY v"
        ).fetchall()
        return _auc_of([(-np.inf if v is None else v, g, b) for v, g, b in rows])
    rows = con.sql(
        f"SELECT {column}::VARCHAR AS v, count_if(good), count_if(bad) FROM {relation} WHERE good OR bad GROUP BY v"
    ).fetchall()
    return _auc_of(_pooled(rows, min_count))


def _pooled(rows: list[tuple], min_count: int) -> list[tuple[float, int, int]]:
    """(share of good, good, bad) per category value, values with fewer than `min_count` decided rows pooled into
    one "rare" value (missing stays its own)."""
    pooled: dict[object, list[int]] = {}
    for value, good, bad in rows:
        key = value if good + bad >= min_count or value is None else "\x00rare"
        pooled.setdefault(key, [0, 0])
        pooled[key][0] += good
        pooled[key][1] += bad
    return [(_share(g, b), g, b) for g, b in pooled.values()]


def _share(good: int, bad: int) -> float:
    return good / (good + bad) if good + bad else 0.0


def _auc_of(scored: list[tuple[float, int, int]]) -> float | None:
    """Mann-Whitney AUC from (score, good rows, bad rows); equal scores are one tied group."""
    merged: dict[float, list[int]] = {}
    for score, good, bad in scored:
        merged.setdefault(float(score), [0, 0])
        merged[float(score)][0] += good
        merged[float(score)][1] += bad
    ordered = sorted(merged.items())
    goods = np.array([g for _, (g, _) in ordered], dtype=float)
    bads = np.array([b for _, (_, b) in ordered], dtype=float)
    if len(ordered) < 2 or not goods.sum() or not bads.sum():
        return None
    below = np.concatenate([[0.0], np.cumsum(bads)[:-1]])
    return float(np.sum(goods * (below + bads / 2)) / (goods.sum() * bads.sum()))


def known_rows(
    con: duckdb.DuckDBPyConnection, relation: str, specs: list[FieldSpec], fields: set[str]
) -> dict[str, np.ndarray]:
    """For each spec named in `fields`: a bool per row of `relation` (in its order), True where the field is known."""
    chosen = [s for s in specs if s.name in fields]
    if not chosen:
        return {}
    data = con.sql(
        "SELECT " + ", ".join(f"NOT {_missing_sql(s)} AS k{i}" for i, s in enumerate(chosen)) + f" FROM {relation}"
    ).fetchnumpy()
    return {s.name: np.asarray(data[f"k{i}"], dtype=bool) for i, s in enumerate(chosen)}


def _missing_sql(spec: FieldSpec) -> str:
    column = quote_identifier(spec.name)
    if spec.kind == "band":
        return f"({quote_identifier(spec.name + '_min')} IS NULL AND {quote_identifier(spec.name + '_max')} IS NULL)"
    if spec.kind == "list":
        return f"({column} IS NULL OR len({column}) = 0)"
    return f"{column} IS NULL"


def _missingness(
    con, relation: str, specs: list[FieldSpec], n: int, n_good: int, n_bad: int, min_count: int, alpha: float
) -> list[dict]:
    """Fields whose missing rows over-index among the good or the bad (BH over fields x directions)."""
    if not specs or not n:
        return []
    counts = con.sql(
        "SELECT "
        + ", ".join(
            f"count(*) FILTER (WHERE {_missing_sql(s)}), count_if(good AND {_missing_sql(s)}), "
            f"count_if(bad AND {_missing_sql(s)})"
            for s in specs
        )
        + f" FROM {relation}"
    ).fetchall()[0]
    rows = []
    for i, spec in enumerate(specs):
        missing, good, bad = counts[3 * i : 3 * i + 3]
        if min_count <= missing < n:
            rows += [(spec.name, "good", missing, good, n_good), (spec.name, "bad", missing, bad, n_bad)]
    if not rows:
        return []
    # one call per direction (its rows share the population's targets), not one per row: a call's tail sums step
    # every row at once, so ten rows cost about what two cost (0.37 s against 0.1 s at 1M rows); each row's
    # arithmetic is the same either way, so are its p-values
    p = np.empty(len(rows))
    for total in {r[4] for r in rows}:
        at = [i for i, r in enumerate(rows) if r[4] == total]
        p[at] = fisher_exact_many(np.array([rows[i][3] for i in at]), np.array([rows[i][2] for i in at]), total, n)
    q = benjamini_hochberg(p)
    found = []
    for (name, direction, missing, k, total), pv, qv in zip(rows, p, q):
        if qv < alpha and k / missing > total / n:
            found.append(
                {
                    "field": name,
                    "direction": direction,
                    "n": int(missing),
                    "k": int(k),
                    "rate": k / missing,
                    "base_rate": total / n,
                    "p_value": float(pv),
                    "q_value": float(qv),
                }
            )
    return found
