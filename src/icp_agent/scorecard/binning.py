"""Step 1-2 of the scorecard (module doc of scorecard/fit.py): bins per fit field (numbers, bands,
categories, list elements), merged by size and information value, and their weight of evidence in SQL."""

from __future__ import annotations

import math
from typing import Any

import duckdb
import numpy as np

from icp_agent import numbers
from icp_agent.scorecard.emit import code_sql, missing_sql, value_sql
from icp_agent.sql import quote_identifier as _q
from icp_agent.sql import sql_literal

PREBINS = 20


MAX_CATEGORY_VALUES = 5000  # beyond this a "category" is an identifier, not a trait


def woe_table(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    codes: list[str],
    *,
    smoothing: float = 0.5,
    counts: tuple[str, str] | None = None,
) -> list[dict[Any, tuple[int, int, float]]]:
    """Per code expression: {bin value: (rows, good rows, WoE)}, all in one pass over `relation`.

    `relation` has a boolean `good`; each code is a SQL expression naming a row's bin (NULL is a
    bin too). WoE = ln((good_b + s) / (not_good_b + s)) - ln(good / not_good) over the relation.
    `counts` = (rows column, good rows column): `relation` is already aggregated (each row stands for
    that many entities, as _fit's table of bin patterns), and the figures are the same as on the entities.
    """
    aliases = [f"__icp_c{i}" for i in range(len(codes))]
    select = ", ".join(f"{code} AS {alias}" for code, alias in zip(codes, aliases))
    which = "CASE " + " ".join(f"WHEN grouping({a}) = 0 THEN {i}" for i, a in enumerate(aliases)) + " END"
    s = float(smoothing)
    if counts:
        weights, n_sql, g_sql = f"{counts[0]} AS __icp_n, {counts[1]} AS __icp_g", "sum(__icp_n)", "sum(__icp_g)"
    else:
        weights, n_sql, g_sql = "good", "count(*)", "count_if(good)"
    rows = con.execute(f"""
        WITH scored AS (SELECT {weights}, {select} FROM {relation}),
        totals AS (SELECT {n_sql}::DOUBLE AS n, {g_sql}::DOUBLE AS g FROM scored),
        bins AS (SELECT {which} AS which, {", ".join(aliases)}, {n_sql}::BIGINT AS n, {g_sql}::BIGINT AS g
                 FROM scored GROUP BY GROUPING SETS ({", ".join(f"({a})" for a in aliases)}))
        SELECT bins.*, ln((bins.g + {s!r}) / (bins.n - bins.g + {s!r})) - ln(totals.g / (totals.n - totals.g))
        FROM bins, totals ORDER BY ALL""").fetchall()  # the bins' order (rare values pooled in it) never varies
    out: list[dict[Any, tuple[int, int, float]]] = [{} for _ in codes]
    for row in rows:
        which = row[0]
        out[which][row[1 + which]] = (int(row[-3]), int(row[-2]), float(row[-1]))
    return out


def bin_fields(
    con, relation: str, fields: dict[str, str], n: int, n_good: int, min_n: int, settings: dict
) -> tuple[list[dict], list[dict]]:
    """Merged bins (without WoE yet) for every field; list fields become one feature per element."""
    numeric = [name for name, kind in fields.items() if kind in ("number", "band")]
    cuts: dict[str, tuple[list[float], bool]] = {}
    if numeric:
        probabilities = [i / PREBINS for i in range(1, PREBINS)]
        parts = []
        for name in numeric:
            source = _q(name + "_min") if fields[name] == "band" else value_sql(name, "number")
            parts += [
                f"quantile_disc({source}, {probabilities})",
                f"coalesce(bool_and({source} = floor({source})), TRUE)",
            ]
        row = con.execute(f"SELECT {', '.join(parts)} FROM {relation}").fetchall()[0]
        for i, name in enumerate(numeric):
            cuts[name] = (sorted({float(c) for c in row[2 * i] or [] if c is not None}), bool(row[2 * i + 1]))
    codes = []
    for name, kind in fields.items():
        if kind in ("number", "band"):
            value = value_sql(name, kind)
            whens = " ".join(f"WHEN {value} < {sql_literal(c)} THEN {i}" for i, c in enumerate(cuts[name][0]))
            codes.append(f"CASE WHEN {value} IS NULL THEN NULL {whens} ELSE {len(cuts[name][0])} END")
        elif kind == "list":
            codes.append(missing_sql(name, kind))
        else:
            codes.append(value_sql(name, kind))
    tables = woe_table(con, relation, codes) if codes else []
    features, excluded = [], []
    totals = (n, n_good)
    for (name, kind), table in zip(fields.items(), tables):
        if kind in ("number", "band"):
            bins = _number_bins(name, kind, table, *cuts[name], totals, min_n, settings["max_bins"])
        elif kind == "list":
            elements, left_out = _list_features(con, relation, name, table, totals, min_n, settings)
            features += elements
            excluded += left_out
            continue
        else:
            if len(table) > MAX_CATEGORY_VALUES:
                excluded.append(
                    {
                        "field": name,
                        "reason": f"{len(table):,} distinct values: too many to score as "
                        "categories (an identifier, or a field to group first)",
                    }
                )
                continue
            bins = _category_bins(name, kind, table, totals, min_n, settings["max_bins"])
        features.append({"name": name, "field": name, "kind": kind, "bins": bins})
    return features, excluded


def _merge(items: list[dict], totals: tuple[int, int], min_n: int, max_bins: int, combine) -> list[dict]:
    """Merge adjacent bins: small ones into the neighbour with the closer good rate, then the
    pair that loses the least information value, until at most `max_bins` remain."""
    items = list(items)
    while len(items) > 1:
        small = [i for i, item in enumerate(items) if item["n"] < min_n]
        if not small:
            break
        i = min(small, key=lambda k: items[k]["n"])
        neighbours = [j for j in (i - 1, i + 1) if 0 <= j < len(items)]
        j = min(neighbours, key=lambda k: abs(_rate(items[k]) - _rate(items[i])))
        a, b = sorted((i, j))
        items[a : b + 1] = [combine(items[a], items[b])]
    while len(items) > max_bins:
        losses = [
            _iv(items[i], totals) + _iv(items[i + 1], totals) - _iv(combine(items[i], items[i + 1]), totals)
            for i in range(len(items) - 1)
        ]
        i = int(np.argmin(losses))
        items[i : i + 2] = [combine(items[i], items[i + 1])]
    return items


def _rate(item: dict) -> float:
    return (item["g"] + 0.5) / (item["n"] + 1)


def _iv(item: dict, totals: tuple[int, int]) -> float:
    n, g = totals
    good_share, other_share = (item["g"] + 0.5) / g, (item["n"] - item["g"] + 0.5) / (n - g)
    return (good_share - other_share) * math.log(good_share / other_share)


def _number_bins(
    name: str,
    kind: str,
    table: dict,
    cuts: list[float],
    integer: bool,
    totals: tuple[int, int],
    min_n: int,
    max_bins: int,
) -> list[dict]:
    edges = [None, *cuts, None]
    items = [
        {"lo": edges[i], "hi": edges[i + 1], "n": table.get(i, (0, 0, 0))[0], "g": table.get(i, (0, 0, 0))[1]}
        for i in range(len(cuts) + 1)
    ]
    while len(items) > 1 and (empty := [i for i, item in enumerate(items) if item["n"] == 0]):
        i = empty[0]
        j = i + 1 if i + 1 < len(items) else i - 1
        a, b = sorted((i, j))
        items[a : b + 1] = [_join_intervals(items[a], items[b])]
    items = _merge(items, totals, min_n, max_bins, _join_intervals)
    bins = []
    for item in items:
        when: dict[str, Any] = {"field": name}
        if item["lo"] is None and item["hi"] is None:
            when["op"] = "not_missing"
        elif item["lo"] is None:
            when.update(op="lte", max=_num(item["hi"]), max_exclusive=True)
        elif item["hi"] is None:
            when.update(op="gte", min=_num(item["lo"]))
        else:
            when.update(op="between", min=_num(item["lo"]), max=_num(item["hi"]), max_exclusive=True)
        if kind == "band" and when["op"] != "not_missing":
            when["on"] = "midpoint"
        bins.append({"when": when, "label": interval_label(name, item["lo"], item["hi"], integer)})
    return bins + [_missing_bin(name)]


def _join_intervals(a: dict, b: dict) -> dict:
    return {"lo": a["lo"], "hi": b["hi"], "n": a["n"] + b["n"], "g": a["g"] + b["g"]}


def _category_bins(name: str, kind: str, table: dict, totals: tuple[int, int], min_n: int, max_bins: int) -> list[dict]:
    """Values (or true/false) as sets ordered by good rate; values rarer than half a bin pooled as "other"."""
    seen = [(value, n, g) for value, (n, g, _) in table.items() if value is not None]
    items = [{"values": [v], "named": [v], "other": False, "n": n, "g": g} for v, n, g in seen if n >= min_n / 2]
    rare = [(v, n, g) for v, n, g in seen if n < min_n / 2]
    if rare:
        items.append(
            {
                "values": [v for v, _, _ in rare],
                "named": [],
                "other": True,
                "n": sum(n for _, n, _ in rare),
                "g": sum(g for _, _, g in rare),
            }
        )
    items.sort(key=lambda item: (_rate(item), str(item["values"])))
    items = _merge(
        items,
        totals,
        min_n,
        max_bins,
        lambda a, b: {
            "values": a["values"] + b["values"],
            "named": a["named"] + b["named"],
            "other": a["other"] or b["other"],
            "n": a["n"] + b["n"],
            "g": a["g"] + b["g"],
        },
    )
    bins = []
    for item in items:
        shown = [_show(v) for v in sorted(item["named"], key=str)]
        if item["other"]:
            shown.append("other (rare values)")
        more = f" +{len(shown) - 3} more" if len(shown) > 3 else ""
        bins.append(
            {
                "when": {"field": name, "op": "in", "values": sorted(item["values"], key=str)},
                "label": f"{name} {', '.join(shown[:3])}{more}",
                **({"other": True} if item["other"] else {}),
            }
        )
    return bins + [_missing_bin(name)]


def _list_features(
    con, relation: str, name: str, missing: dict, totals: tuple[int, int], min_n: int, settings: dict
) -> tuple[list[dict], list[dict]]:
    """One contains/without feature per element common enough on both sides and informative by its
    presence alone (the missing bin, shared by every element, does not count), best first."""
    n_missing, g_missing, _ = missing.get(True, (0, 0, 0))
    n_present, g_present = totals[0] - n_missing, totals[1] - g_missing
    value = value_sql(name, "list")
    # the rows grouped by their list first: each distinct list is unnested once, not once per row
    rows = con.execute(
        f"SELECT e, sum(n)::BIGINT, sum(g)::BIGINT FROM (SELECT unnest(list_distinct(v)) AS e, n, g FROM "
        f"(SELECT {value} AS v, count(*) AS n, count_if(good) AS g FROM {relation} GROUP BY 1)) "
        f"WHERE e IS NOT NULL GROUP BY e"
    ).fetchall()
    scored = []
    for element, n, g in rows:
        iv = _iv({"n": n, "g": g}, totals) + _iv({"n": n_present - n, "g": g_present - g}, totals)
        if min(n, n_present - n) >= min_n and iv >= settings["min_iv"]:
            scored.append((iv, element))
    chosen = sorted(scored, key=lambda s: (-s[0], s[1]))[: settings["max_list_elements"]]
    features = []
    for _, element in chosen:
        bins = [
            {"when": {"field": name, "op": "contains", "value": element}, "label": f"{name} contains {element}"},
            {"when": {"field": name, "op": "not_contains", "value": element}, "label": f"{name} without {element}"},
            _missing_bin(name),
        ]
        features.append({"name": f"{name}: {element}", "field": name, "kind": "list", "element": element, "bins": bins})
    left = len(rows) - len(chosen)
    excluded = (
        [
            {
                "field": name,
                "reason": f"{left} of its {len(rows)} elements left out: fewer than {min_n} rows with "
                f"or without them, information value below {settings['min_iv']}, or beyond the "
                f"{settings['max_list_elements']} most informative",
            }
        ]
        if left
        else []
    )
    return features, excluded


def _missing_bin(name: str) -> dict:
    return {"when": {"field": name, "op": "is_missing"}, "label": f"{name} missing", "missing": True}


def interval_label(name: str, lo: float | None, hi: float | None, integer: bool) -> str:
    """[lo, hi) in words; on whole numbers [51, 201) reads "51-200"."""
    if hi is None:
        if lo is None:
            return f"{name} known"
        return f"{name} {_show(lo)}+" if integer else f"{name} {_show(lo)} or more"
    if lo is None:
        return f"{name} up to {_show(hi - 1)}" if integer else f"{name} under {_show(hi)}"
    if integer:
        return f"{name} {_show(lo)}" if hi - 1 == lo else f"{name} {_show(lo)}-{_show(hi - 1)}"
    return f"{name} {_show(lo)} to under {_show(hi)}"


def _show(value: Any) -> str:
    """Values in bin labels: 1001, 10,000, 2,631,947, 0.1234 (no thousands separator in years)."""
    return numbers.number(value, group_from=10_000)


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() and abs(value) < 2**53 else float(value)


def attach_woe(
    con,
    relation: str,
    features: list[dict],
    n: int,
    n_good: int,
    min_n: int,
    settings: dict,
    *,
    codes: list[str] | None = None,
    counts: tuple[str, str] | None = None,
) -> tuple[list[dict], list[dict]]:
    """Counts and WoE of the final bins (one SQL pass), information value, and the `min_iv` cut.

    `codes`: each feature's bin as a column or expression of `relation` (default: its code_sql); `counts`: as in
    woe_table, when `relation` is aggregated (_fit passes its table of bin patterns)."""
    if not features:
        return [], []
    codes = codes or [code_sql(f, None) for f in features]
    tables = woe_table(con, relation, codes, smoothing=settings["smoothing"], counts=counts)
    kept, dropped = [], []
    for feature, table in zip(features, tables):
        iv = 0.0
        for code, b in enumerate(feature["bins"], 1):
            rows, good, woe = table.get(code, (0, 0, 0.0))
            b.update(n=rows, n_good=good, woe=round(woe, 6))
            if b.get("missing") and rows < min_n:
                b.update(woe=0.0, neutral=f"fewer than {min_n} rows with {feature['field']} missing: scored as average")
            elif b.get("missing") and feature["field"] in settings.get("neutral_missing", ()):
                b.update(
                    woe=0.0,
                    neutral=f"{feature['field']} missing is a data-quality finding, not a trait: scored as average",
                )
            iv += ((good / n_good) - (rows - good) / (n - n_good)) * b["woe"]
        feature["iv"] = round(iv, 4)
        informative = sum(1 for b in feature["bins"] if b["n"] > 0 and not b.get("neutral")) > 1
        if not informative or iv < settings["min_iv"]:
            dropped.append(
                {
                    "field": feature["name"],
                    "iv": feature["iv"],
                    "reason": f"information value {numbers.divergence(feature['iv'])} below {numbers.number(settings['min_iv'])}"
                    if informative
                    else "a single bin: nothing to tell customers apart",
                }
            )
        else:
            kept.append(feature)
    return kept, dropped
