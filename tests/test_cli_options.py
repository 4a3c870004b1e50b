"""faces/cli_options.py: click parameters generated from an options model (types, defaults, bounds, choices,
flags, positional arguments) and the model of what the user gave, a bad value an ArgumentError naming the option
as the command line spells it."""

from __future__ import annotations

from typing import Annotated, Literal

import click
import pytest
from click.testing import CliRunner
from pydantic import Field

from icp_agent.errors import ArgumentError
from icp_agent.faces.cli_options import flag, given, parameters
from icp_agent.options import Cli, Options


class Demo(Options):
    """A model with one field of each kind the generator handles."""

    paths: Annotated[list[str], Cli(argument=True, metavar="FILES...")] = Field(default_factory=list)
    depth: int = Field(3, ge=1, le=5, description="search depth, 100% honest")
    alpha: float = Field(0.05, gt=0, lt=1)
    mode: Literal["fast", "full"] | None = None
    verbose: bool = False
    tags: list[str] | None = None
    good_column: Annotated[str | None, Cli(flags=("--good", "-g"))] = None
    sheet: str | int | None = None


def command(seen: dict) -> click.Command:
    def run(**values):
        seen["model"] = given(Demo, values, click.get_current_context())

    return click.Command("demo", callback=run, params=parameters(Demo))


def invoke(*args: str) -> tuple[Demo | None, click.testing.Result]:
    seen: dict = {}
    result = CliRunner().invoke(command(seen), list(args))
    return seen.get("model"), result


def test_parameters_mirror_the_fields():
    params = {p.name: p for p in parameters(Demo)}
    assert isinstance(params["paths"], click.Argument) and params["paths"].nargs == -1
    depth = params["depth"]
    assert isinstance(depth.type, click.IntRange) and (depth.type.min, depth.type.max) == (1, 5)
    assert depth.default == 3 and depth.help == "search depth, 100%% honest"  # % escaped for click's help
    alpha = params["alpha"].type
    assert isinstance(alpha, click.FloatRange) and alpha.min_open and alpha.max_open
    assert params["mode"].type.choices == ("fast", "full")
    assert params["verbose"].is_flag and params["tags"].multiple
    assert params["good_column"].opts == ["--good", "-g", "--good-column"]
    assert params["sheet"].type is click.STRING  # str | int is read as text
    assert [p.name for p in parameters(Demo, leave_out=("depth", "paths"))][:2] == ["alpha", "mode"]
    assert isinstance(parameters(Demo)[0], click.Argument)  # arguments first


def test_flag_names_the_option_as_written():
    assert flag("depth", Demo) == "--depth"
    assert flag("good_column", Demo) == "--good"
    assert flag("paths", Demo) == "FILES"
    assert flag("unknown", Demo) == "unknown"


def test_given_keeps_only_what_the_user_gave():
    model, result = invoke()
    assert result.exit_code == 0, result.output
    assert model.model_fields_set == set() and model.depth == 3
    model, _ = invoke("a.csv", "b.csv", "--depth", "4", "-g", "won", "--tags", "x", "--tags", "y", "--verbose")
    assert model.model_fields_set == {"paths", "depth", "good_column", "tags", "verbose"}
    assert (model.paths, model.depth, model.good_column, model.tags) == (["a.csv", "b.csv"], 4, "won", ["x", "y"])
    model, _ = invoke("--depth", "3")  # the default value, given explicitly, counts as given
    assert model.model_fields_set == {"depth"}


def test_click_checks_bounds_and_choices():
    _, result = invoke("--depth", "9")
    assert result.exit_code == 2 and "--depth" in result.output and "1<=x<=5" in result.output
    _, result = invoke("--mode", "slow")
    assert result.exit_code == 2 and "'slow' is not one of 'fast', 'full'" in result.output


def test_a_value_the_model_refuses_is_an_argument_error_naming_the_flag():
    with pytest.raises(ArgumentError) as caught:
        given(Demo, {"good_column": 5})
    assert str(caught.value).startswith("--good: ")
    with pytest.raises(ArgumentError, match=r"^--depth: .*less than or equal to 5 \(got 9\)"):
        given(Demo, {"depth": 9})
    # None and an empty tuple are values not given
    assert given(Demo, {"mode": None, "tags": ()}).model_fields_set == set()
