"""render/templating.py: the document filters. Numbers are formatted by icp_agent.numbers (its own tests hold
the wording), so here each figure is checked to go through the formatter its key calls for; the markdown
escapes are checked exactly."""

from __future__ import annotations

from markupsafe import Markup

from icp_agent import numbers
from icp_agent.icp_document import TierMetrics
from icp_agent.render.templating import (
    SYMBOLS,
    anchor_md,
    environment,
    fence,
    humanize,
    link_ids_html,
    link_ids_md,
    md,
    md_code,
    metric,
    metric_items,
    metric_notes,
    money,
    sentence,
    symbol,
)


def test_humanize_and_sentence():
    assert humanize("win_rate") == "win rate"  # from LABELS
    assert humanize("tam_share") == "TAM share"  # acronyms upright
    assert humanize("q_value") == "q (BH)"
    assert sentence("icp 1 is best") == "Icp 1 is best"
    assert sentence("ICP is") == "ICP is" and sentence("") == ""


def test_metric_picks_the_formatter_by_key():
    assert metric(None) == "—"
    assert metric(True) == "yes" and metric(False) == "no"
    assert metric(0.381, "rate") == numbers.percent(0.381)
    assert metric(0.2, "tam_share") == numbers.percent(0.2)  # any *_share
    assert metric(0.2, "churned_rate") == numbers.percent(0.2)  # any *_rate
    assert metric(0.0004, "p_value") == numbers.p_value(0.0004)
    assert metric(2.345, "lift") == numbers.ratio(2.345)
    assert metric(1234, "n") == numbers.count(1234)
    assert metric(12.5, "health_mean") == numbers.figure(12.5, one_decimal=True)
    assert metric(3.0, "anything") == numbers.count(3.0)  # a whole float is a count
    assert metric("text", "x") == "text"
    assert metric(["a", "b"], "x") == "a; b" and metric([1, 2], "n") == f"{numbers.count(1)}, {numbers.count(2)}"
    assert metric([], "x") == "none"


def test_an_interval_is_a_percentage_unless_around_a_mean():
    assert metric(0.25, "ci_low", {"rate": 0.3, "ci_low": 0.25}) == numbers.percent(0.25)
    around_mean = {"mean": 600.0, "ci_low": 512.5}
    assert metric(512.5, "ci_low", around_mean) == metric(512.5, "mean")
    assert metric(512.5, "ci_low", around_mean) != numbers.percent(512.5)


def test_money_takes_the_fields_currency():
    assert symbol() == "$" and money(1234.0) == numbers.money(1234.0, "$")
    token = SYMBOLS.set({"arr": "€", "": "£"})
    try:
        assert symbol("arr") == "€" and symbol("cac") == "£"
        assert metric(1_200_000, "arr_median") == numbers.money(1_200_000, "€")
        assert metric(50, "cac") == numbers.money(50, "£")
    finally:
        SYMBOLS.reset(token)
    assert symbol("arr") == "$"  # the render's symbols do not leak into the next


def test_metric_items_reading_order_interval_and_win_rate_deals():
    items = metric_items(
        {
            "p_value": 0.01,
            "ci_high": 0.5,
            "note": "x",
            "ci_low": 0.3,
            "n": 40,
            "win_rate": 0.4,
            "win_rate_n": 25,
            "extra": 2.5,
            "gone": None,
        }
    )
    assert [label for label, _ in items] == [
        "n", f"win rate ({numbers.count(25)} deals)", "95% CI", "p", "extra"]  # fmt: skip
    assert dict(items)["95% CI"] == f"{numbers.percent(0.3)}–{numbers.percent(0.5)}"
    assert metric_items({"n": 3}, {"n": "customers"}) == [("customers", numbers.count(3))]
    # a pydantic section: the keys icp.json holds (none of the unset ones)
    assert [label for label, _ in metric_items(TierMetrics(n=5, churn_rate=0.1))] == ["n", "churn rate"]
    assert metric_notes({"win_rate_note": "not measurable: no deals", "n": 4}) == [
        ("win rate", "not measurable: no deals")
    ]


def test_md_makes_data_inert():
    assert md("![x](http://evil)") == r"\!\[x\](http\://evil)"
    assert md("<script>") == "&lt;script>"
    assert md("a|b *c* _d_ `e` $f$ ~g~ #h") == r"a\|b \*c\* \_d\_ \`e\` \$f\$ \~g\~ \#h"
    assert md("www.evil.com") == r"www\.evil.com"
    assert md("line\nbreak\r\nagain") == "line break again"
    assert md("- item") == r"\- item" and md("> quote") == r"\> quote" and md("= under") == r"\= under"
    assert md("1. first") == r"1\. first"  # an ordered list marker
    assert md("2024-01-05") == "2024-01-05"  # a date is not a list
    assert md(None) == "None" and md(3) == "3"


def test_code_spans_and_fences_cannot_be_closed_from_inside():
    assert md_code("file.csv") == "`file.csv`"
    assert md_code("a`b") == "``a`b``"
    assert md_code("`x`") == "`` `x` ``"
    assert md_code("two\nlines") == "`two lines`"
    assert fence("SELECT 1") == "```"
    assert fence("a ```` b") == "`````"
    assert fence(None) == "```"


def test_evidence_links():
    known = {"E3f9a2c1d"}
    assert anchor_md("E3f9a2c1d") == "#e3f9a2c1d"
    assert link_ids_md("see E3f9a2c1d and Eaaaaaaaa", known) == "see [E3f9a2c1d](#e3f9a2c1d) and Eaaaaaaaa"
    html = link_ids_html("<b> E3f9a2c1d", known)
    assert isinstance(html, Markup)
    assert str(html) == '&lt;b&gt; <a class="cite" href="#E3f9a2c1d">E3f9a2c1d</a>'


def test_environment_escapes_html_templates_only():
    env = environment()
    assert env is environment()  # cached
    assert env.from_string("{{ x | md }}").render(x="*a*") == r"\*a\*"
    assert env.from_string("{{ x }}").render(x="<b>") == "<b>"  # a string template (markdown) is not escaped
    assert env.filters["pct"] is numbers.percent
    names = env.list_templates()
    assert any(n.endswith(".html.j2") for n in names) and any(n.endswith(".md.j2") for n in names)
    html = next(n for n in names if n.endswith(".html.j2"))
    assert env.get_template(html).environment.autoescape(html) is True


def test_compiled_templates_are_cached_on_disk_and_an_unwritable_cache_is_skipped(tmp_path):
    from jinja2 import DictLoader, Environment

    from icp_agent.render.templating import _BytecodeCache

    assert isinstance(environment().bytecode_cache, _BytecodeCache)
    cache = _BytecodeCache(str(tmp_path))
    env = Environment(loader=DictLoader({"t.j2": "{{ x }} and {{ y }}"}), bytecode_cache=cache)
    assert env.get_template("t.j2").render(x=1, y=2) == "1 and 2"
    assert len(list(tmp_path.glob("__jinja2_*.cache"))) == 1
    # a second process (a fresh environment) loads the compiled code and renders the same
    again = Environment(loader=DictLoader({"t.j2": "{{ x }} and {{ y }}"}), bytecode_cache=cache)
    assert again.get_template("t.j2").render(x=1, y=2) == "1 and 2"
    # a template edited since is compiled again, not served stale
    edited = Environment(loader=DictLoader({"t.j2": "{{ x }} or {{ y }}"}), bytecode_cache=cache)
    assert edited.get_template("t.j2").render(x=1, y=2) == "1 or 2"
    gone = Environment(
        loader=DictLoader({"t.j2": "{{ x }}"}), bytecode_cache=_BytecodeCache(str(tmp_path / "no-such-folder"))
    )
    assert gone.get_template("t.j2").render(x=3) == "3"
