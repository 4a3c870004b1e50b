"""faces/paths.py: the data roots a path argument must resolve into (symlinks followed, a folder's entries
too) and the rule for replacing an existing output file."""

from __future__ import annotations

import pytest

from icp_agent.errors import UserError
from icp_agent.faces.paths import DataRoots, replaceable_output


@pytest.fixture
def roots(tmp_path):
    data, outside = tmp_path / "data", tmp_path / "outside"
    data.mkdir()
    outside.mkdir()
    (outside / "secret.csv").write_text("x\n1\n")
    return DataRoots([data]), data, outside


def test_paths_inside_the_roots_resolve(roots):
    allowed, data, _ = roots
    (data / "sub").mkdir()
    (data / "sub" / "a.csv").write_text("a\n")
    assert allowed.resolve("sub/a.csv", "path") == data.resolve() / "sub" / "a.csv"  # relative to the first root
    assert allowed.resolve(str(data / "new.csv"), "output_path") == data.resolve() / "new.csv"  # still to be written
    assert allowed.resolve("sub", "path") == data.resolve() / "sub"


def test_paths_outside_the_roots_are_refused_naming_the_argument(roots):
    allowed, data, _ = roots
    with pytest.raises(UserError) as caught:
        allowed.resolve("../outside/secret.csv", "customers_path")
    message = str(caught.value)
    assert message.startswith("customers_path: '../outside/secret.csv' resolves to ")
    assert "outside the folders this server may read" in message and str(data.resolve()) in caught.value.hint


def test_a_symlink_out_of_the_roots_is_refused(roots):
    allowed, data, outside = roots
    (data / "link.csv").symlink_to(outside / "secret.csv")
    with pytest.raises(UserError, match=r"path: 'link\.csv' resolves to"):
        allowed.resolve("link.csv", "path")
    # a folder whose entry (or an entry's entry) links outside is refused too
    (data / "folder" / "deeper").mkdir(parents=True)
    (data / "folder" / "deeper" / "x.csv").symlink_to(outside / "secret.csv")
    with pytest.raises(UserError, match=r"entry deeper/x\.csv"):
        allowed.resolve("folder", "folder_path")


def test_an_unusable_path_is_a_user_error(roots):
    allowed, _, _ = roots
    with pytest.raises(UserError, match=r"path: .* is not a usable path"):
        allowed.resolve("a\x00b", "path")
    with pytest.raises(UserError, match="cannot be used") as caught:
        allowed.resolve("x" * 5000, "path")  # too long for the file system
    assert caught.value.hint == "pass a shorter path to a file you can read"


def test_at_least_one_root():
    with pytest.raises(ValueError, match="at least one data root"):
        DataRoots([])


def test_replaceable_output(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    replaceable_output(tmp_path / "new.csv", out)  # a new file: fine
    (out / "old.csv").write_text("a\n1\n")
    replaceable_output(out / "old.csv", out)  # in the output folder: fine
    scored = tmp_path / "scored.csv"
    scored.write_text("name,icp_tier,fit_score,priority\nA,1,80,high\n")
    replaceable_output(scored, out)  # an earlier scored file: fine
    export = tmp_path / "export.csv"
    export.write_text("name,fit_score\nA,80\n")
    with pytest.raises(UserError) as caught:
        replaceable_output(export, out)
    assert str(caught.value).startswith(f"output_path: {export} exists and is not a scored file")
    unreadable = tmp_path / "data.parquet"
    unreadable.write_text("not parquet")
    with pytest.raises(UserError, match="not a scored file"):
        replaceable_output(unreadable, out)
    with pytest.raises(UserError):
        replaceable_output(tmp_path, out)  # an existing folder is not a file to replace
