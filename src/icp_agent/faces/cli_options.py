"""Click parameters generated from an operation's options model (icp_agent.options).

Each field becomes `--field-name` (or the flags and positional form its `Cli` marker names) with the field's
type, default, bounds (ge/gt/le/lt become click ranges), choices (a Literal) and description as help. Values
the user did not give are left out of the model, so its `model_fields_set` says what was asked for (refresh
keeps the previous version's other options). Validation is the model's: a bad value is an ArgumentError that
names the option as written on the command line.
"""

from __future__ import annotations

import types
import typing
from typing import Any

import annotated_types
import click
from click.core import ParameterSource
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from icp_agent.errors import ArgumentError
from icp_agent.options import Cli, Options, parse


def _marker(field: FieldInfo) -> Cli:
    return next((m for m in field.metadata if isinstance(m, Cli)), Cli())


def _inner(annotation: Any) -> Any:
    """The type without None (X | None -> X)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else str  # str | int (a sheet name or index) is read as text
    return annotation


def _bounds(field: FieldInfo) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for m in field.metadata:
        if isinstance(m, annotated_types.Ge):
            found["min"] = m.ge
        elif isinstance(m, annotated_types.Gt):
            found.update(min=m.gt, min_open=True)
        elif isinstance(m, annotated_types.Le):
            found["max"] = m.le
        elif isinstance(m, annotated_types.Lt):
            found.update(max=m.lt, max_open=True)
    return found


def _click_type(kind: Any, field: FieldInfo) -> Any:
    if typing.get_origin(kind) is typing.Literal:
        return click.Choice([str(v) for v in typing.get_args(kind)])
    bounds = _bounds(field)
    if kind is int:
        return click.IntRange(**bounds) if bounds else click.INT
    if kind is float:
        return click.FloatRange(**bounds) if bounds else click.FLOAT
    return click.STRING


def flag(name: str, model: type[Options]) -> str:
    """The option a field is given with on the command line (its main flag), for messages."""
    field = model.model_fields.get(name)
    if field is None:
        return name
    marker = _marker(field)
    if marker.argument:
        return (marker.metavar or name.upper()).rstrip(".")
    return marker.flags[0] if marker.flags else "--" + name.replace("_", "-")


def parameters(model: type[Options], *, leave_out: tuple[str, ...] = ()) -> list[click.Parameter]:
    """The click arguments and options of `model`'s fields (arguments first, in field order)."""
    arguments: list[click.Parameter] = []
    options: list[click.Parameter] = []
    for name, field in model.model_fields.items():
        if name in leave_out:
            continue
        marker = _marker(field)
        kind = _inner(field.annotation)
        origin = typing.get_origin(kind)
        many = origin in (list, tuple, dict)
        default = None if field.default is PydanticUndefined or field.default_factory else field.default
        required = marker.required or (field.is_required() and not many)
        if marker.argument:
            arguments.append(click.Argument([name], nargs=-1 if many else 1, required=required, metavar=marker.metavar))
            continue
        help_text = (field.description or "").replace("%", "%%")
        decls = [*marker.flags, "--" + name.replace("_", "-"), name]
        decls = list(dict.fromkeys(decls))
        if kind is bool:
            options.append(click.Option(decls, is_flag=True, default=bool(default), help=help_text))
        elif many:
            options.append(click.Option(decls, multiple=True, metavar=marker.metavar, help=help_text))
        else:
            item = typing.get_args(kind)[0] if origin is list else kind
            click_type = _click_type(item, field)
            # a text option without a default (a file, a name) is collected when repeated, so that `given` refuses
            # `--customers a.csv --customers b.csv` instead of keeping the last one without a word
            once = default is None and click_type is click.STRING
            options.append(
                click.Option(
                    decls,
                    type=click_type,
                    default=default,
                    required=required,
                    multiple=once,
                    show_default=default is not None,
                    metavar=marker.metavar,
                    help=help_text,
                )
            )
    return arguments + options


def given(model: type[Options], values: dict[str, Any], context: click.Context | None = None) -> Any:
    """The model of the values the user gave (defaults left out, so model_fields_set is what was asked for);
    a value the model refuses is an ArgumentError naming the option as the command line spells it."""
    chosen = {}
    for name in model.model_fields:
        if name not in values:
            continue
        value = values[name]
        if context is not None and context.get_parameter_source(name) is ParameterSource.DEFAULT:
            continue
        if value is None or (isinstance(value, tuple) and not value):
            continue
        if isinstance(value, tuple) and typing.get_origin(_inner(model.model_fields[name].annotation)) not in (
            list,
            tuple,
            dict,
        ):  # a one-value option given more than once (collected by `parameters`)
            if len(value) > 1:
                raise ArgumentError(
                    f"{flag(name, model)} is given {len(value)} times ({', '.join(map(str, value))}): it takes one",
                    hint=f"give {flag(name, model)} once",
                )
            value = value[0]
        chosen[name] = list(value) if isinstance(value, tuple) else value
    return parse(model, chosen, spelled=lambda name: flag(name, model))
