"""resources.py: the files shipped with the package resolve in a source checkout (the wheel's layout is checked by
test_wheel.py), and a missing one says what was looked for."""

from __future__ import annotations

import base64

import pytest

from conftest import DEMO, REPO
from icp_agent import resources


def test_a_checkout_finds_its_prompts_and_demo_data():
    assert resources.prompts_dir() == REPO / "prompts"
    assert resources.demo_data_dir() == DEMO
    assert {"customers.csv", "deals.csv", "prospects.csv", "interviews"} <= {p.name for p in DEMO.iterdir()}


def test_the_first_existing_candidate_wins_and_none_is_an_error_naming_them(tmp_path):
    (tmp_path / "b").mkdir()
    assert resources._first_existing(tmp_path / "a", tmp_path / "b", tmp_path) == tmp_path / "b"
    with pytest.raises(FileNotFoundError, match=r"none of .*/x, .*/y exists: is the package installed whole\?"):
        resources._first_existing(tmp_path / "x", tmp_path / "y")


def test_icons_are_a_png_and_an_svg_as_data_uris():
    png, svg = resources.icons()
    assert (png.mime_type, png.sizes, svg.mime_type, svg.sizes) == ("image/png", ["128x128"], "image/svg+xml", ["any"])
    head, data = png.src.split(",", 1)
    assert head == "data:image/png;base64" and base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    head, data = svg.src.split(",", 1)
    assert head == "data:image/svg+xml;base64" and b"<svg" in base64.b64decode(data)[:500]
