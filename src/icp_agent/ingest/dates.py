"""Date order: whether a date column is written day/month or month/day, from the mapping file's
`[dates]`, else from its own values (a day above 12, dots as separators), else, when every day and month
is 12 or less, from the order the export's other date columns prove; a date the analysis reads whose
order nothing decides stops the import, any other is kept as text, never guessed."""

from __future__ import annotations

from icp_agent.errors import UserError
from icp_agent.ingest import normalize as norm
from icp_agent.ingest.columns import PlannedColumn, join_note
from icp_agent.ingest.fields import FIELDS
from icp_agent.ingest.mapping import Mapping
from icp_agent.ingest.profile import infer_role


def date_order(column: PlannedColumn, profile: dict[str, int], mapping: Mapping, file_name: str) -> str | None:
    """The day/month order of a date column with slashed or dotted values: "mdy" or "dmy" when the mapping
    declares it or a value proves it (a part over 12), AMBIGUOUS when nothing does (ambiguous_date_orders
    decides), None for dates with no such parts. Both orders proven in one column (typed by hand) gives the
    majority's order with the other for the values only it reads (normalize.MIXED_ORDERS, noted on the column);
    as many values proving each is a UserError."""
    if not profile["slashed"]:
        return None
    if mapping.date_order:
        return mapping.date_order
    mdy, dmy = profile["mdy"] > 0, profile["dmy"] > 0
    if mdy and dmy:
        if profile["mdy"] == profile["dmy"]:
            raise UserError(
                f"dates in this column mix day/month/year and month/day/year orders, as many values proving each "
                f"({profile['mdy']:,})",
                file=file_name,
                column=column.header,
                hint='fix the column, or declare the order with [dates] order = "mdy" or "dmy" in a mapping file',
            )
        # typed by hand in both orders: the majority's order, the other where a value can only be read so
        major, minor = ("mdy", "dmy") if profile["mdy"] > profile["dmy"] else ("dmy", "mdy")
        words = {"mdy": "month/day", "dmy": "day/month"}
        column.note = join_note(
            column.note,
            f"dates written in both orders: read {words[major]} like most ({profile[major]:,} values prove it), "
            f"{words[minor]} where a value can only be read so ({profile[minor]:,}); a value both ways readable is "
            f'read {words[major]} (declare [dates] order = "{minor}" in a mapping file if that is wrong)',
        )
        return norm.MIXED_ORDERS[major]
    if mdy:
        return "mdy"
    if dmy:
        return "dmy"
    if profile.get("dotted") and profile["dotted"] >= profile["slashed"]:
        return "dmy"  # 01.05.2023 is written day first wherever dots separate a date (de, fr, ru, ...)
    return AMBIGUOUS


AMBIGUOUS = "ambiguous"
# Date fields the analysis reads: a column among them whose day/month order nothing decides stops the import.
NEEDED_DATES = frozenset(f.name for f in FIELDS if f.type == "date" and f.role == "outcome")


def _proven_order(profile: dict[str, int]) -> str | None:
    """The day/month order a slashed date column's own values prove (a day above 12 in one place only)."""
    if not profile.get("slashed"):
        return None
    if profile["dmy"] and not profile["mdy"]:
        return "dmy"
    if profile["mdy"] and not profile["dmy"]:
        return "mdy"
    return None


def ambiguous_date_orders(
    columns: list[PlannedColumn],
    profiles: dict[str, dict[str, int]],
    mapping: Mapping,
    file_name: str,
    warnings: list[str],
) -> None:
    """Decide the date columns whose values leave day and month open (every part 12 or less, `date_order`).

    One export is written in one locale, so the order its other date columns prove decides: those of this
    file, then those of the files imported before it in the same run (`Mapping.proven_date_orders`). When they
    agree on one order it is used, with a note. When nothing decides (or they disagree), a date the analysis
    reads (NEEDED_DATES, or a role set to outcome) stops the import (UserError naming the file and column);
    any other is kept as text with a note and a warning, never guessed.
    """
    for column in columns:
        order = _proven_order(profiles[column.header]) if column.type == "date" else None
        if order:
            mapping.proven_date_orders[f"{file_name}: {column.header}"] = order
    open_ = [c for c in columns if c.type == "date" and c.date_order == AMBIGUOUS]
    if not open_:
        return
    own = {k: v for k, v in mapping.proven_date_orders.items() if k.startswith(f"{file_name}: ")}
    evidence = own or mapping.proven_date_orders
    orders = set(evidence.values())
    for column in open_:
        profile = profiles[column.header]
        needed = (mapping.roles.get(column.name) or ("outcome" if column.name in NEEDED_DATES else None)) == "outcome"
        if len(orders) == 1:
            column.date_order = next(iter(orders))
            shown = ", ".join(sorted(evidence)[:3])
            column.note = join_note(
                column.note,
                f"day and month are 12 or less in every value: read as "
                f"{'day/month' if column.date_order == 'dmy' else 'month/day'} "
                f"like the export's other dates ({shown})",
            )
        elif needed:
            raise UserError(
                "the date order is ambiguous (every day and month is 12 or less) and no other date "
                "column of the export decides it",
                file=file_name,
                column=column.header,
                hint='declare it with [dates] order = "mdy" or "dmy" in a mapping file (--mapping)',
            )
        else:
            column.type, column.date_order = "text", None
            message = (
                "day and month are 12 or less in every value and no other date column of the export decides "
                'their order: kept as text (declare [dates] order = "mdy" or "dmy" in a mapping file '
                "to read it as dates)"
            )
            column.note = join_note(column.note, message)
            warnings.append(f"{file_name}: column {column.header!r}: {message}")
        column.role = mapping.roles.get(column.name) or infer_role(column, profile)
