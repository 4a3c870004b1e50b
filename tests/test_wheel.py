"""`icp-agent demo` from a wheel installed in a fresh venv: prompts and demo data ship inside it."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile

import pytest

from conftest import REPO


@pytest.mark.slow
def test_demo_runs_from_an_installed_wheel(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist),
                    str(REPO)], check=True)
    wheel = next(dist.glob("icp_agent-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("icp_agent/prompts/") for n in names)
    assert "icp_agent/demo_data/customers.csv" in names
    assert any(n.startswith("icp_agent/demo_data/interviews/") for n in names)
    assert "icp_agent/py.typed" in names  # PEP 561: type checkers read the package's own annotations
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True)
    work = tmp_path / "elsewhere"  # not the checkout: nothing may come from the source tree
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ANTHROPIC_API_KEY")}
    result = subprocess.run([str(env_dir / "bin" / "icp-agent"), "demo", "--out", "demo-out"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    out = work / "demo-out"
    for name in ("icp.html", "icp.md", "icp.json", "scoring_matrix.csv", "playbook.md"):
        assert (out / name).stat().st_size > 0, name
    assert "icp.html" in result.stdout and "ICP 1" in result.stdout
    assert str(REPO) not in (out / "icp.json").read_text()
