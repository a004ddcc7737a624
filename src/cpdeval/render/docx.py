"""Word output a reader can use: A4 pages, tables in a readable size that never break a word, and a contents list
that is there when the file is opened.

Pandoc's own ``--toc`` writes a field that Word fills only when asked ("update field"), so a reader opening the
file sees an empty contents. :func:`static_contents` writes the contents as a list of links to the headings
instead. :func:`reference_docx` is pandoc's default reference document with A4 pages (2 cm margins) and tables
set a point smaller than the text. :func:`fit_tables` sizes each table's columns so that no column is narrower
than the longest word in it, and puts a table that cannot fit a portrait page on a landscape page of its own.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

#: A4 in twentieths of a point, with 2 cm margins.
A4 = {"w": 11906, "h": 16838, "margin": 1134}
#: Room a character of 9-point table text takes (generous: capitals and digits are wider than the average), and
#: the left and right padding of a table cell, in twentieths of a point.
CHAR_WIDTH, CELL_PADDING = 100, 230
#: A cell longer than this many characters wraps: its column asks for no more room.
WRAP_AT = 36

_HEADING = re.compile(r"^(?P<hashes>#{1,2})[ \t]+(?P<title>.*?)[ \t]*\{(?P<attrs>[^}]*)\}[ \t]*$", re.M)


def reference_docx(dest: Path) -> Path:
    """Pandoc's default reference document, with A4 pages and 9-point tables (its entries dated to the build day,
    as pandoc copies some of them, dates and all, into the Word file)."""
    from .builtin import pandoc_env, pandoc_path

    import subprocess

    data = subprocess.run([pandoc_path(), "--print-default-data-file", "reference.docx"], capture_output=True,
                          check=True, env=pandoc_env()).stdout
    src = dest.with_suffix(".orig.docx")
    src.write_bytes(data)
    page = (f'<w:sectPr><w:pgSz w:w="{A4["w"]}" w:h="{A4["h"]}"/>'
            f'<w:pgMar w:top="{A4["margin"]}" w:right="{A4["margin"]}" w:bottom="{A4["margin"]}" '
            f'w:left="{A4["margin"]}" w:header="708" w:footer="708" w:gutter="0"/>'
            '<w:footnotePr><w:numRestart w:val="eachSect" /></w:footnotePr></w:sectPr>')
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            body = zin.read(item.filename)
            if item.filename == "word/document.xml":
                body = re.sub(rb"<w:sectPr>.*?</w:sectPr>", page.encode(), body, flags=re.S)
            elif item.filename == "word/styles.xml":
                body = body.replace(b'<w:style w:type="table" w:default="1" w:styleId="Table">\n    <w:name w:val="Table" />',
                                    b'<w:style w:type="table" w:default="1" w:styleId="Table">\n    <w:name w:val="Table" />'
                                    b'\n    <w:rPr><w:sz w:val="18" /><w:szCs w:val="18" /></w:rPr>')
            zout.writestr(item, body)
    src.unlink()
    return dest


def static_contents(markdown: str, title: str = "Contents") -> str:
    """``markdown`` with a contents list (links to its level-1 and level-2 headings) after its YAML header."""
    entries = []
    for m in _HEADING.finditer(markdown):
        ident = re.search(r"#([A-Za-z][\w-]*)", m.group("attrs"))
        if not ident or "unnumbered" in m.group("attrs") and len(m.group("hashes")) > 1:
            continue
        text = re.sub(r"\[([^\]]*)\]\{\.header-section-number\}", r"\1", m.group("title")).strip()
        indent = "    " if len(m.group("hashes")) == 2 else ""
        entries.append(f"{indent}- [{text}](#{ident.group(1)})")
    block = f"# {title} {{.unnumbered}}\n\n" + "\n".join(entries) + "\n\n"
    if markdown.startswith("---\n"):
        end = markdown.index("\n---\n", 4) + 5
        return markdown[:end] + "\n" + block + markdown[end:]
    return block + markdown


def _page_xml(landscape: bool) -> str:
    w, h = (A4["h"], A4["w"]) if landscape else (A4["w"], A4["h"])
    orient = ' w:orient="landscape"' if landscape else ""
    m = A4["margin"]
    return (f'<w:sectPr><w:pgSz w:w="{w}" w:h="{h}"{orient}/><w:pgMar w:top="{m}" w:right="{m}" w:bottom="{m}" '
            f'w:left="{m}" w:header="708" w:footer="708" w:gutter="0"/></w:sectPr>')


def _section_end(landscape: bool) -> str:
    """A paragraph that ends the section before it, on pages of the given orientation (raw Word XML)."""
    return f"```{{=openxml}}\n<w:p><w:pPr>{_page_xml(landscape)}</w:pPr></w:p>\n```"


def _cells(line: str) -> list[str]:
    return [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]


def column_room(header: list[str], rows: list[list[str]]) -> tuple[list[int], list[int]]:
    """Characters each column needs (its longest word) and would like (its longest cell, up to WRAP_AT)."""
    need, like = [], []
    for j, head in enumerate(header):
        cells = [r[j] for r in rows if j < len(r)]
        words = [w for text in [head, *cells] for w in text.split()]
        need.append(max([len(w) for w in words] + [1]))
        like.append(max([min(len(c), WRAP_AT) for c in cells] + [need[-1]]))
    return need, like


def _width(chars: list[int]) -> int:
    """Twentieths of a point a table needs to give each column ``chars`` characters."""
    return sum((c + -(-CELL_PADDING // CHAR_WIDTH)) * CHAR_WIDTH for c in chars)


def fit_tables(markdown: str) -> str:
    """Each pipe table's dash line rewritten so that pandoc gives every column at least the room of its longest
    word (padding included), and a table too wide for a portrait page set on a landscape page of its own."""
    portrait, landscape = A4["w"] - 2 * A4["margin"], A4["h"] - 2 * A4["margin"]
    lines = markdown.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        is_table = (line.startswith("|") and i + 1 < len(lines)
                    and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1].strip() or "x"))
        if not is_table:
            out.append(line)
            i += 1
            continue
        end = i + 2
        while end < len(lines) and lines[end].startswith("|"):
            end += 1
        header, rows = _cells(line), [_cells(r) for r in lines[i + 2:end]]
        need, like = column_room(header, rows)
        # the room each column would like on a portrait page; else the room its words need; else a landscape page
        if _width(like) <= portrait:
            chars, wide = like, False
        elif _width(need) <= portrait:
            chars, wide = need, False
        else:
            chars, wide = (like if _width(like) <= landscape else need), True
        aligns = [("right" if d.endswith(":") and not d.startswith(":") else "left") for d in _cells(lines[i + 1])]
        # dashes in proportion to the room asked, padding counted as characters
        pad = -(-CELL_PADDING // CHAR_WIDTH)
        dashes = [max(3, c + pad) for c in chars]
        sep = "|" + "|".join(("-" * (n - 1) + ":") if a == "right" else (":" + "-" * (n - 1))
                             for n, a in zip(dashes, aligns)) + "|"
        # a landscape table takes the enclosing div (and caption) with it: find where the div opened
        block = [line, sep, *lines[i + 2:end]]
        if wide:
            start = len(out)
            while start > 0 and not out[start - 1].startswith(":::"):
                start -= 1
            opened = start - 1 if start > 0 and ".cpdeval-table" in out[start - 1] else None
            if opened is not None:
                out[opened:opened] = [_section_end(False), ""]
            else:
                out += [_section_end(False), ""]
            out += block
            # up to the fence that closes the table's div (notes inside it are divs too), then the landscape
            # section ends
            j, depth = end, (1 if opened is not None else 0)
            while j < len(lines) and depth:
                fence = lines[j].strip()
                if fence.startswith(":::"):
                    depth += 1 if fence.rstrip(":").strip() else -1
                out.append(lines[j])
                j += 1
            out += ["", _section_end(True)]
            i = j
        else:
            out += block
            i = end
    return "\n".join(out)
