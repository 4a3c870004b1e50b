"""The mapping file: the user's overrides of what the importer would decide (TOML `[columns]`,
`[files."NAME".columns]`, `[roles]`, `[types]`, `[dates]`, `[fx]`, `[values.FIELD]` and `[units]`, or the same
through the API) and the exchange rates (`--fx`, a CSV of currency,rate), read and checked before anything is
imported, so a mistake in them stops with a UserError naming the file and the entry."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from icp_agent.errors import UserError
from icp_agent.ingest import normalize as norm
from icp_agent.ingest.amounts import parse_scale
from icp_agent.ingest.fields import FIELD_BY_NAME, ROLES


@dataclass
class Mapping:
    """User overrides from a TOML mapping file (or the API).

    `[columns]` applies to every imported file that has the column; `[files."NAME".columns]`
    applies to the file of that name only (matched case-insensitively on the file name, not
    the path) and wins over `[columns]`. A global entry is an error only when no imported file
    has its column (see `check_files`); a per-file entry must name a column of its file.
    """

    columns: dict[str, str] = field(default_factory=dict)  # header -> field name or "ignore", every file
    roles: dict[str, str] = field(default_factory=dict)  # field -> role
    types: dict[str, str] = field(default_factory=dict)  # field -> type
    date_order: str | None = None  # ymd | mdy | dmy
    source: str | None = None
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # file name -> {header -> field}
    fx: dict[str, float] = field(default_factory=dict)  # ISO code -> units of the reporting currency per unit
    fx_currency: str | None = None  # the reporting currency money is compared in
    # header or field -> the factor its amounts are multiplied by ("cents" is 0.01): ingest/amounts.py
    units: dict[str, float] = field(default_factory=dict)
    # field -> {raw label -> stored label}: synonyms no spelling rule can find ("Financial Technology" = "Fintech")
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    # what the files imported so far in this run proved (not a setting): "file: header" -> "dmy" | "mdy", read
    # when a later file of the same export has a date column whose day/month order nothing in it decides
    proven_date_orders: dict[str, str] = field(default_factory=dict)
    # field -> the raw labels of `values` taken from the workspace's stored tables (`with_workspace_values`)
    inherited: dict[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path | None) -> Mapping:
        """Read a TOML mapping file (None: an empty mapping). Raises UserError when the file is missing, is not valid
        TOML or UTF-8, or has an unknown section.
        """
        if path is None:
            return cls()
        path = Path(path)
        if not path.is_file():
            raise UserError("mapping file not found", file=str(path), hint="pass --mapping with a TOML file")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise UserError(
                f"not valid TOML: {exc}", file=path.name, hint="see README, section 'Mapping file'"
            ) from exc
        unknown = set(data) - {"columns", "roles", "types", "dates", "files", "fx", "values", "units"}
        if unknown:
            raise UserError(
                f"unknown section(s) {sorted(unknown)}",
                file=path.name,
                hint='sections are [columns], [files."NAME".columns], [roles], [types], [dates], [fx], '
                "[values.FIELD] and [units]",
            )
        files: dict[str, dict[str, str]] = {}
        for name, section in data.get("files", {}).items():
            extra = set(section) - {"columns"} if isinstance(section, dict) else {"(not a table)"}
            if extra:
                raise UserError(
                    f"[files.{name!r}] may only hold a columns table, found {sorted(extra)}",
                    file=path.name,
                    hint=f'write [files."{name}".columns] then "Header" = "field" lines',
                )
            files[str(name)] = {str(k): str(v) for k, v in section.get("columns", {}).items()}
        mapping = cls(
            columns={str(k): str(v) for k, v in data.get("columns", {}).items()},
            roles={str(k): str(v) for k, v in data.get("roles", {}).items()},
            types={str(k): str(v) for k, v in data.get("types", {}).items()},
            date_order=data.get("dates", {}).get("order"),
            source=path.name,
            files=files,
            values=value_mappings(data.get("values", {}), path.name),
        )
        for name, role in mapping.roles.items():
            if role not in ROLES:
                raise UserError(f"role {role!r} for {name!r} is not one of {list(ROLES)}", file=path.name)
        for name, kind in mapping.types.items():
            if kind not in norm.TYPES:
                raise UserError(f"type {kind!r} for {name!r} is not one of {sorted(norm.TYPES)}", file=path.name)
        if mapping.date_order not in (None, *norm.DATE_ORDERS):
            raise UserError(f"[dates] order must be one of {list(norm.DATE_ORDERS)}", file=path.name)
        units = data.get("units", {})
        if not isinstance(units, dict):
            raise UserError("[units] must be a table of column = unit lines", file=path.name, hint='value = "cents"')
        mapping.units = {str(k): parse_scale(v, path.name, str(k)) for k, v in units.items()}
        fx = dict(data.get("fx", {}))
        if fx:
            reporting = fx.pop("currency", None)
            mapping.fx_currency = _fx_code(reporting, path.name, "[fx] currency") if reporting else None
            mapping.fx = {
                _fx_code(code, path.name, "[fx]"): _fx_rate(rate, path.name, f"[fx] {code}")
                for code, rate in fx.items()
            }
            if mapping.fx and not mapping.fx_currency:
                raise UserError(
                    "the [fx] table gives rates but no reporting currency",
                    file=path.name,
                    hint='add currency = "USD" (the currency the rates convert into) to [fx]',
                )
        return mapping

    def with_workspace_values(self, stored: dict[str, dict[str, str]]) -> Mapping:
        """This mapping with the workspace's `[values.FIELD]` tables beneath its own, for one import.

        `stored` is field -> {raw label -> stored label}, as the current snapshots were imported (their import
        reports' `value_map`): a file imported later without a table for a field stores that field's labels as
        the workspace's earlier files were stored. Per field, a line of this mapping wins over a stored line for
        the same label (case, spaces and hyphens aside, `normalize.category_key_text`), as when scoring.
        `inherited` names the raw labels taken from `stored`, for the import report. A copy; self is unchanged
        (one mapping serves every file of a run)."""
        if not stored:
            return self
        values: dict[str, dict[str, str]] = {}
        inherited: dict[str, frozenset[str]] = {}
        for name in {*stored, *self.values}:
            own = self.values.get(name, {})
            keys = {norm.category_key_text(raw) for raw in own}
            taken = {
                raw: label for raw, label in stored.get(name, {}).items() if norm.category_key_text(raw) not in keys
            }
            values[name] = {**taken, **own}
            if taken:
                inherited[name] = frozenset(taken)
        return replace(self, values=values, inherited=inherited)

    def file_columns(self, file_name: str | None) -> dict[str, str]:
        """The `[files."NAME".columns]` entries for a file (empty when it has no section)."""
        if not file_name:
            return {}
        wanted = Path(file_name).name.casefold()
        return next((cols for name, cols in self.files.items() if name.casefold() == wanted), {})

    def columns_for(self, file_name: str | None) -> dict[str, str]:
        """Header -> field overrides for one file: the global [columns], then its own section on top."""
        return {**self.columns, **self.file_columns(file_name)}

    def check_files(self, headers_by_file: dict[str, list[str]]) -> None:
        """Refuse entries that apply to nothing: a global column no imported file has, a file section
        whose file is not imported. Call before importing so nothing half-done is stored."""
        where = self.source or "the mapping"
        known = {Path(name).name.casefold() for name in headers_by_file}
        for name in self.files:
            if name.casefold() not in known:
                raise UserError(
                    f"the mapping file has a section for {name!r}, which is not among the imported files",
                    file=where,
                    hint=f"the files are: {', '.join(sorted(headers_by_file))}",
                )
        for name, headers in headers_by_file.items():
            absent = [h for h in self.file_columns(name) if h not in headers]
            if absent:
                raise UserError(
                    f"the mapping file's section for {Path(name).name!r} names column(s) {absent} that "
                    f"are not in the file",
                    file=where,
                    column=absent[0],
                    hint=f"the file's columns are: {', '.join(headers)}",
                )
        every = {h for headers in headers_by_file.values() for h in headers}
        mapped = set(self.columns.values()) | {v for cols in self.files.values() for v in cols.values()}
        unknown_units = [h for h in self.units if h not in every and h not in FIELD_BY_NAME and h not in mapped]
        if unknown_units and headers_by_file:
            raise UserError(
                f"the mapping file's [units] names {unknown_units}, which is no column of the imported file(s) and "
                f"no field",
                file=where,
                column=unknown_units[0],
                hint='name a column as its header reads ([units] value = "cents") or a field (amount = "cents")',
            )
        missing = [h for h in self.columns if h not in every]
        if missing and headers_by_file:
            raise UserError(
                f"the mapping file names column(s) {missing} that are not in the file(s) imported "
                f"(no imported file has them)",
                file=where,
                column=missing[0],
                hint="check the spelling against the headers: "
                + "; ".join(f"{name}: {', '.join(headers)}" for name, headers in headers_by_file.items()),
            )

    def check_values(self, columns: list[tuple[str, str]]) -> None:
        """Refuse a `[values.FIELD]` table that applies to nothing: `columns` are the (stored name, type) of every
        column imported in this run. The field must be one of them, stored as a category, a list or yes/no (its labels
        mapped to yes or no: "x" = "yes"). Call before the
        import is committed, so nothing half-done is stored."""
        where = self.source or "the mapping"
        for name in self.values:
            types = {kind for stored, kind in columns if stored == name}
            if not types:
                raise UserError(
                    f"[values.{name}] names a field no imported file has",
                    file=where,
                    hint="use a field as the import report names it: "
                    + ", ".join(sorted({stored for stored, kind in columns if kind in IMPORT_VALUE_MAPPED_TYPES})),
                )
            if not types & IMPORT_VALUE_MAPPED_TYPES:
                raise UserError(
                    f"[values.{name}] maps the labels of a {'/'.join(sorted(types))} field: only categories, "
                    f"lists and yes/no fields have labels to map",
                    file=where,
                    hint=f'add [types] {name} = "category" to read the field as a category, or remove [values.{name}]',
                )

    def load_fx(self, path: str | Path) -> None:
        """Read exchange rates from a CSV with columns currency,rate (units of the reporting currency per unit).

        The reporting currency is the `[fx] currency` of the mapping file, else the one row with rate 1.
        Rates in the CSV win over the mapping file's.
        """
        import csv

        path = Path(path)
        if not path.is_file():
            raise UserError(
                "exchange-rate file not found",
                file=str(path),
                hint="pass --fx with a CSV file with columns currency,rate",
            )
        try:
            with path.open(encoding="utf-8-sig", newline="") as handle:
                rows = list(csv.DictReader(handle))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise UserError(f"not a readable CSV: {exc}", file=path.name) from exc
        headers = {h.strip().lower(): h for h in (rows[0].keys() if rows else [])}
        if not {"currency", "rate"} <= set(headers):
            raise UserError(
                "the exchange-rate file needs the columns currency and rate",
                file=path.name,
                hint="one row per currency: EUR,1.08 means 1 EUR = 1.08 units of the reporting currency",
            )
        for number, row in enumerate(rows, start=1):
            code = _fx_code(row[headers["currency"]], path.name, f"row {number}")
            self.fx[code] = _fx_rate(row[headers["rate"]], path.name, f"row {number}")
        if not self.fx_currency:
            ones = [code for code, rate in self.fx.items() if rate == 1.0]
            if len(ones) != 1:
                raise UserError(
                    "cannot tell the reporting currency of the exchange rates",
                    file=path.name,
                    hint="add one row for the reporting currency with rate 1 (e.g. USD,1), or set "
                    '[fx] currency = "USD" in the mapping file',
                )
            self.fx_currency = ones[0]


VALUE_MAPPED_TYPES = frozenset({"category", "list"})  # the types whose labels scoring maps too
# ... and at import a yes/no field's labels ("churned 😢" = "yes"), read before the yes/no words
IMPORT_VALUE_MAPPED_TYPES = VALUE_MAPPED_TYPES | {"bool"}


def value_mappings(section: object, file_name: str) -> dict[str, dict[str, str]]:
    """The `[values.FIELD]` tables of a mapping file: field -> {raw label -> stored label}.

    A raw label matches a value whatever its letter case, spacing or hyphens (`normalize.category_key`). Raises
    UserError naming the entry when a table or a label is not text, a stored label is empty, one raw label is
    given two stored labels, two stored labels differ only in spelling, or a stored label is itself mapped on
    (one step only: "A" = "B" beside "B" = "C" is a chain)."""
    if not isinstance(section, dict):
        raise UserError("[values] must hold one table per field", file=file_name, hint=_VALUES_HINT)
    mappings: dict[str, dict[str, str]] = {}
    for name, table in section.items():
        if not isinstance(table, dict) or not table:
            raise UserError(f"[values.{name}] must be a table of labels", file=file_name, hint=_VALUES_HINT)
        by_key: dict[str, tuple[str, str]] = {}  # key of a raw label -> (raw label, stored label)
        labels: dict[str, str] = {}  # key of a stored label -> it as written
        for raw, label in table.items():
            if not isinstance(label, str) or not label.strip():
                raise UserError(
                    f"[values.{name}] {raw!r} = {label!r}: the stored label must be non-empty text",
                    file=file_name,
                    hint=_VALUES_HINT,
                )
            key, label_key = norm.category_key_text(raw), norm.category_key_text(label)
            if key in by_key and norm.category_key_text(by_key[key][1]) != label_key:
                raise UserError(
                    f"[values.{name}] {by_key[key][0]!r} and {raw!r} are one label (case, spaces and hyphens aside) "
                    f"mapped to {by_key[key][1]!r} and {label!r}",
                    file=file_name,
                    hint="give the label one stored label",
                )
            if labels.get(label_key, label) != label:
                raise UserError(
                    f"[values.{name}] stores {labels[label_key]!r} and {label!r}, one label spelled two ways",
                    file=file_name,
                    hint="spell the stored label the same way in every line",
                )
            by_key[key], labels[label_key] = (str(raw), label), label
        for key, (raw, label) in by_key.items():
            if key in labels and labels[key] != label and norm.category_key_text(label) != key:
                raise UserError(
                    f"[values.{name}] maps {raw!r} to {label!r}, and {raw!r} is itself a stored label of another line",
                    file=file_name,
                    hint="map every raw label straight to the label it is stored as",
                )
        mappings[str(name)] = dict(by_key.values())
    return mappings


_VALUES_HINT = (
    'write [values.industry] then "Raw label" = "Stored label" lines, e.g. "Financial Technology" = "Fintech"'
)


def _fx_code(value, file_name: str, where: str) -> str:
    code = norm.code_or_symbol(str(value)) if value is not None else None
    if not code:
        raise UserError(
            f"{where}: {value!r} is not an ISO 4217 currency code",
            file=file_name,
            hint="use three-letter codes such as USD, EUR, GBP, JPY",
        )
    return code


def _fx_rate(value, file_name: str, where: str) -> float:
    try:
        rate = float(str(value).strip())
    except ValueError:
        rate = float("nan")
    if not rate > 0 or rate == float("inf"):
        raise UserError(
            f"{where}: rate {value!r} is not a positive number",
            file=file_name,
            hint="a rate is units of the reporting currency per 1 unit of the currency (EUR,1.08)",
        )
    return rate
