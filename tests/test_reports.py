"""Rendered chapters as a reader sees them: numbered captions, images that load, no unresolved
references, no disclosive cell; the reviewer's one-chapter rebuild; identical re-renders."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
import yaml

from cpdeval.tables import find_disclosure_breaches
from conftest import run_snakemake

pytestmark = pytest.mark.e2e

CHECK_SCRIPT = """
<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const caps = el => el.querySelector('caption, figcaption');
  const r = {
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => (i.alt || i.src).slice(0, 80)),
    tables: [...document.querySelectorAll('table')].map(t => (caps(t) ? caps(t).textContent.trim() : '')),
    figures: [...document.querySelectorAll('figure')].map(f => (caps(f) ? caps(f).textContent.trim() : '')),
    unresolved: (document.body.innerText.match(/\\?@[\\w-]+|@(fig|tbl|sec)-[\\w-]+/g) || []),
  };
  const pre = document.createElement('pre'); pre.id = 'cpdeval-check'; pre.textContent = JSON.stringify(r);
  document.body.appendChild(pre);
});
</script>
"""

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=10000", "--dump-dom"]


def chapters(project):
    cfg = yaml.safe_load((project / "config" / "config.yaml").read_text())
    return cfg["render"]["chapters"]


def html_files(project):
    return [project / "reports" / "synthetic" / f"{c}.html" for c in chapters(project)]


def chromium():
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium")
        pytest.skip("chromium is not installed (CI installs it)")
    return path


def test_every_configured_chapter_is_rendered(synthetic_run):
    for html in html_files(synthetic_run):
        assert html.exists(), html
        assert "data:image" in html.read_text(encoding="utf-8") or "<img" not in html.read_text(encoding="utf-8")


@pytest.mark.browser
def test_chapters_in_a_browser(synthetic_run, tmp_path):
    exe = chromium()
    for html in html_files(synthetic_run):
        probe = tmp_path / html.name
        probe.write_text(html.read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT + "</body>"),
                         encoding="utf-8")
        out = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", probe.as_uri()],
                             capture_output=True, text=True, timeout=120)
        m = re.search(r'<pre id="cpdeval-check">(.*?)</pre>', out.stdout, re.S)
        assert m, f"{html.name}: the check script did not run\n{out.stderr[-2000:]}"
        r = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<")
                       .replace("&gt;", ">"))
        assert r["broken"] == [], f"{html.name}: images that do not load: {r['broken']}"
        for i, cap in enumerate(r["tables"], 1):
            assert re.match(r"Table \d+:", cap), f"{html.name}: table {i} has no numbered caption ({cap!r})"
        for i, cap in enumerate(r["figures"], 1):
            assert re.match(r"Figure \d+:", cap), f"{html.name}: figure {i} has no numbered caption ({cap!r})"
        assert r["unresolved"] == [], f"{html.name}: unresolved cross-references {r['unresolved']}"
        numbers = [int(re.match(r"Table (\d+)", c).group(1)) for c in r["tables"]]
        assert numbers == list(range(1, len(numbers) + 1)), f"{html.name}: tables numbered {numbers}"


def test_no_disclosive_cell_in_any_rendered_table(synthetic_run):
    cfg = yaml.safe_load((synthetic_run / "config" / "config.yaml").read_text())
    threshold = cfg["thresholds"]["disclosure_min_count"]
    for html in html_files(synthetic_run):
        breaches = find_disclosure_breaches(html.read_text(encoding="utf-8"), threshold)
        assert breaches == [], f"{html.name}: " + "; ".join(map(str, breaches[:5]))


def _without_build_date(text: str) -> str:
    return re.sub(r"\b20\d\d-\d\d-\d\d\b", "<date>", text)


def test_rerender_is_identical_apart_from_the_date(synthetic_run):
    target = html_files(synthetic_run)[0]
    before = target.read_text(encoding="utf-8")
    result = run_snakemake(synthetic_run, "--forcerun", "render_chapter", str(target.relative_to(synthetic_run)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert _without_build_date(target.read_text(encoding="utf-8")) == _without_build_date(before)


# A chapter may need another chapter's analysis only where its rule file says so: the targeted chapter's
# satisfaction and quality by role are the survey analysis of the event-feedback form (rules/targeted.smk).
SHARED_ANALYSES = {"targeted": {"impact_analysis"}}


def test_reviewer_rebuilds_only_what_one_chapter_needs(synthetic_run):
    for chapter in chapters(synthetic_run):
        target = f"reports/synthetic/{chapter}.html"
        result = run_snakemake(synthetic_run, "--dry-run", "--forceall", target, "--quiet", "rules")
        assert result.returncode == 0, result.stderr[-3000:]
        counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout, re.M))
        assert counts.get("render_chapter") == "1", f"{chapter}: {counts}"
        others = [c for c in chapters(synthetic_run) if c != chapter]
        for rule in set(counts) - SHARED_ANALYSES.get(chapter, set()):
            assert not any(rule.startswith(f"{o}_") for o in others), f"{chapter} pulls in {rule}"


def test_snakemake_report_includes_the_chapters(synthetic_run, tmp_path):
    out = tmp_path / "report.html"
    result = run_snakemake(synthetic_run, "--report", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    text = out.read_text(encoding="utf-8", errors="replace")
    for chapter in chapters(synthetic_run):
        assert f"{chapter}.html" in text
