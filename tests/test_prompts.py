"""faces/assistant/prompts.py: the prompt templates in prompts/, each with a version in its front matter, and the
renderer that records the version of each template it used."""

from __future__ import annotations

import jinja2
import pytest

from icp_agent import resources
from icp_agent.faces.assistant.prompts import Prompts
from icp_agent.resources import prompt_template, prompts_dir, render_prompt


def test_every_shipped_prompt_states_a_version():
    names = sorted(p.name.removesuffix(".md.j2") for p in prompts_dir().glob("*.md.j2"))
    assert "system" in names and "repair" in names
    for name in names:
        body, meta = prompt_template(name)
        assert meta["version"] and not body.startswith("---"), name


def test_load_prompt_reads_the_front_matter():
    body, meta = prompt_template("repair")
    assert meta == {"version": "1", "purpose": "sent once when a draft fails the grounding check"}
    assert body.startswith("The grounding check refused")


def test_render_fills_the_template_and_records_its_version():
    prompts = Prompts()
    text = prompts.render("repair", problems=[{"where": "persona", "claim": 'say "x"', "problem": "no evidence"}])
    assert text.startswith("The grounding check refused 1 claim of your draft:")
    assert '- persona: "say \\"x\\""' in text and "problem: no evidence" in text
    assert prompts.versions == {"repair": "1"}
    two = prompts.render("repair", problems=[{"where": "a", "claim": "b", "problem": "c"}] * 2)
    assert "refused 2 claims" in two


def test_a_missing_variable_is_an_error_not_an_empty_string():
    with pytest.raises(jinja2.UndefinedError, match="problems"):
        Prompts().render("repair")


def test_a_template_without_a_version_is_refused(tmp_path, monkeypatch):
    (tmp_path / "unversioned_h8.md.j2").write_text("---\npurpose: x\n---\nHello\n")
    (tmp_path / "bare_h8.md.j2").write_text("Hello\n")
    (tmp_path / "ok_h8.md.j2").write_text("---\nversion: 7\n---\nHi {{ who }}\n")
    (tmp_path / "named_h8.md.j2").write_text("---\nversion: 2\n---\nHi {{ name }}\n")
    monkeypatch.setattr(resources, "prompts_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match=r"unversioned_h8\.md\.j2 has no version in its front matter"):
        prompt_template("unversioned_h8")
    with pytest.raises(ValueError, match=r"bare_h8\.md\.j2 has no front matter"):
        prompt_template("bare_h8")
    prompts = Prompts()
    assert prompts.render("ok_h8", who="Ann") == "Hi Ann" and prompts.versions == {"ok_h8": "7"}
    # a template's own variable may be called name: the template's name is positional-only
    assert prompts.render("named_h8", name="Ann") == "Hi Ann" and render_prompt("named_h8", name="Bo") == "Hi Bo\n"
