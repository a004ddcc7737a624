"""The built-in renderer applies the project's _quarto.yml as defaults under a chapter's front matter."""

import pytest

from cpdeval.render import render_document
from cpdeval.render.qmd import UnsupportedFeature, parse_qmd

DOC = """---
title: "T"
---

# First {#sec-first}

```{python}
print("hello from a cell")
```
"""


def test_project_settings_are_defaults(tmp_path):
    (tmp_path / "_quarto.yml").write_text("toc: true\nnumber-sections: true\nexecute:\n  echo: true\n")
    (tmp_path / "doc.qmd").write_text(DOC.replace('title: "T"', 'title: "T"\nexecute:\n  warning: false'))
    doc = parse_qmd(tmp_path / "doc.qmd")
    assert doc.meta["toc"] is True and doc.meta["execute"] == {"echo": True, "warning": False}
    html = render_document(tmp_path / "doc.qmd", tmp_path / "out", engine="builtin")[0].read_text()
    assert "cell-code" in html and "hello from a cell" in html  # echo came from _quarto.yml
    assert 'header-section-number">1</span> First' in html  # numbered section


def test_document_wins_over_project(tmp_path):
    (tmp_path / "_quarto.yml").write_text("toc: true\n")
    (tmp_path / "doc.qmd").write_text(DOC.replace('title: "T"', 'title: "T"\ntoc: false'))
    assert parse_qmd(tmp_path / "doc.qmd").meta["toc"] is False


def test_unknown_project_key_fails_clearly(tmp_path):
    (tmp_path / "_quarto.yml").write_text("website:\n  title: x\n")
    (tmp_path / "doc.qmd").write_text(DOC)
    with pytest.raises(UnsupportedFeature, match="website"):
        parse_qmd(tmp_path / "doc.qmd")
