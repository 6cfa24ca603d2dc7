"""Render a daily report (title, subtitle, sections) to HTML, PDF and XLSX.

The DAGs compute DataFrames and charts; this module only lays them out. Conventions shared by
every format:

- a table's columns are already Russian headings; the DataFrame index is not rendered;
- numbers: thousands separated by a thin space, floats with one decimal and a decimal comma;
  a column whose name ends with ", %" holds percent points (12.5 means 12,5 %), not fractions;
- datetimes are shown in Europe/Moscow time: tz-aware values are converted, naive values are
  taken as Moscow time already;
- a column named "Ссылка" becomes a link only for http(s) URLs.

Matplotlib is used without pyplot (no GUI backend needed); importing this module sets
``font.family`` to DejaVu Sans, the font matplotlib ships, so Cyrillic renders in charts too.
"""
from __future__ import annotations

import base64
import io
import json
import numbers
import os
import re
import tempfile
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache, partial
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import jinja2
import matplotlib
import numpy as np
import pandas as pd
from matplotlib import ft2font
from matplotlib.figure import Figure
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font

matplotlib.rcParams["font.family"] = "DejaVu Sans"

MOSCOW = ZoneInfo("Europe/Moscow")
LINK_COLUMN = "Ссылка"
FORMATS = ("html", "pdf", "xlsx")
THIN_SPACE = "\u2009"
MISSING = "—"
_WRAP_CHARS = 40  # a column wider than this many characters wraps its text
WIDE_COLUMNS = 7  # a report with a table of this many columns or more is printed on landscape pages


@dataclass(eq=False)
class Section:
    """One part of a report: a Russian heading and any of a table (columns named in Russian), a note
    paragraph, a chart and an image file (PNG, e.g. a map). Shown in that order."""

    heading: str
    table: pd.DataFrame | None = None
    note: str = ""
    figure: Figure | None = None
    image: Path | None = None


# --- values -------------------------------------------------------------------------------------

def _is_missing(value: object) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def _is_number(value: object) -> bool:
    return isinstance(value, (numbers.Real, Decimal)) and not isinstance(value, bool)


def _number(value: numbers.Real | Decimal) -> str:
    """1234567 → '1 234 567' (thin space); 1234.56 → '1 234,6'."""
    text = f"{value:,}" if isinstance(value, numbers.Integral) else f"{float(value):,.1f}"
    return text.replace(",", THIN_SPACE).replace(".", ",")


def _moscow_naive(value: datetime) -> datetime:
    """A tz-aware datetime converted to Moscow time without tzinfo; a naive one unchanged."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert(MOSCOW).tz_localize(None)
    return ts.to_pydatetime()


def fmt_hours(x: float | None) -> str:
    """Hours in Russian notation: 3.46 → '3,5 ч'; missing → '—'."""
    return MISSING if _is_missing(x) else f"{_number(float(x))} ч"


def format_value(value: object, column: str) -> str:
    """The text of a table cell, the same in HTML and PDF."""
    if _is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "да" if value else "нет"
    if isinstance(value, datetime):
        return _moscow_naive(value).strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if _is_number(value):
        return _number(value) + ("\u00a0%" if column.endswith(", %") else "")
    return str(value)


def _href(value: object, column: str) -> str | None:
    """The URL of a link cell (http/https only), else None."""
    if column != LINK_COLUMN or not isinstance(value, str):
        return None
    url = urlparse(value.strip())
    return value.strip() if url.scheme in ("http", "https") and url.netloc else None


def _rows(table: pd.DataFrame) -> Iterable[tuple]:
    return table.itertuples(index=False, name=None)


def _right_aligned(table: pd.DataFrame) -> list[list[bool]]:
    """Per cell: numeric column (missing values included) or a number in a mixed column."""
    numeric = [pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in table.dtypes]
    return [[col or _is_number(v) for v, col in zip(row, numeric)] for row in _rows(table)]


# --- shared preparation ---------------------------------------------------------------------------

@dataclass
class _Report:
    title: str
    subtitle: str
    generated: str
    sections: list[Section]
    pictures: list[list[bytes]]  # PNGs per section: chart, image


def _pictures(section: Section) -> list[bytes]:
    """The section's chart (rendered at 150 dpi) and image file, as PNG bytes."""
    out = []
    if section.figure is not None:
        buf = io.BytesIO()
        section.figure.savefig(buf, format="png", dpi=150, bbox_inches="tight", facecolor="white")
        out.append(buf.getvalue())
    if section.image is not None:
        out.append(Path(section.image).read_bytes())
    return out


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write through a temporary file in the same directory, then rename over ``path``."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# --- HTML -----------------------------------------------------------------------------------------

_JINJA = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_JINJA.filters["b64"] = lambda data: base64.b64encode(data).decode("ascii")
_HTML = _JINJA.from_string("""\
<!DOCTYPE html>
<html lang="ru">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body { font-family: "DejaVu Sans", Arial, sans-serif; color: #222; line-height: 1.4;
       max-width: 75rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
.subtitle { font-size: 1.1rem; color: #444; margin: 0; }
.generated { font-size: .85rem; color: #777; }
.note { white-space: pre-line; }
.empty { color: #777; font-style: italic; }
table { border-collapse: collapse; font-size: .9rem; margin: .5rem 0; }
th, td { border: 1px solid #d0d0d0; padding: .25rem .5rem; vertical-align: top; }
th { background: #eef2f7; text-align: left; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #f8f8f8; }
img { max-width: 100%; height: auto; display: block; margin: .5rem 0; }
</style>
</head>
<body>
<h1>{{ title }}</h1>
{% if subtitle %}<p class="subtitle">{{ subtitle }}</p>{% endif %}
<p class="generated">Сформировано {{ generated }} (МСК)</p>
{% for s in sections %}
<section>
<h2>{{ s.heading }}</h2>
{% if s.note %}<p class="note">{{ s.note }}</p>{% endif %}
{% if s.columns is not none %}
{% if s.rows %}
<table>
<thead><tr>{% for c in s.columns %}<th>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in s.rows %}
<tr>{% for c in row %}<td{% if c.num %} class="num"{% endif %}>
{%- if c.href %}<a href="{{ c.href }}" rel="noopener noreferrer">{{ c.text }}</a>{% else %}{{ c.text }}{% endif -%}
</td>{% endfor %}</tr>
{% endfor %}
</tbody>
</table>
{% else %}
<p class="empty">Нет данных</p>
{% endif %}
{% endif %}
{% for png in s.pictures %}
<img src="data:image/png;base64,{{ png|b64 }}" alt="{{ s.heading }}">
{% endfor %}
</section>
{% endfor %}
</body>
</html>
""")


def _column_widths(columns: list[str], rows: list[list[dict]]) -> list[float]:
    """Column widths in % of the table: by the longest cell text (capped, long texts wrap) and the
    longest word of the heading."""
    chars = [min(_WRAP_CHARS, max([4, *(len(w) for w in c.split()), *(len(r[i]["text"]) for r in rows)]))
             for i, c in enumerate(columns)]
    return [round(100 * c / sum(chars), 2) for c in chars]


def _png_size(png: bytes) -> tuple[int, int]:
    """(width, height) in pixels from a PNG's IHDR chunk."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("report pictures must be PNG images")
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _context(report: _Report) -> dict:
    """What both templates (HTML and the PDF's Typst) show: texts already formatted."""
    sections = []
    for s, pictures in zip(report.sections, report.pictures):
        columns = rows = None
        if s.table is not None:
            columns = [str(c) for c in s.table.columns]
            rows = [[{"text": format_value(v, c), "num": num, "href": _href(v, c)}
                     for v, c, num in zip(row, columns, nums)]
                    for row, nums in zip(_rows(s.table), _right_aligned(s.table))]
        sections.append({"heading": s.heading, "note": s.note, "columns": columns, "rows": rows,
                         "widths": _column_widths(columns, rows) if columns else [],
                         "pictures": pictures})
    return {"title": report.title, "subtitle": report.subtitle, "generated": report.generated, "sections": sections}


def _html(context: dict) -> str:
    """The report as one self-contained HTML page (pictures inline)."""
    return _HTML.render(**context)


# --- PDF ------------------------------------------------------------------------------------------

_TYPST_TEMPLATE = Path(__file__).with_name("templates") / "report.typ"
_PAGE_MM = {False: (186.0, 235.0), True: (273.0, 150.0)}  # room for a picture (width, height): portrait, landscape
_PICTURE_DPI = 150


@cache
def _typst_fonts():
    """DejaVu Sans from matplotlib's own font folder: the PDF needs no system fonts."""
    import typst

    return typst.Fonts(include_system_fonts=False, include_embedded_fonts=False,
                       font_paths=[str(Path(matplotlib.get_data_path()) / "fonts" / "ttf")])


@cache
def _font_chars() -> frozenset[int]:
    return frozenset(ft2font.FT2Font(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")).get_charmap())


def _drawable(value):
    """Texts with the characters DejaVu Sans cannot draw (most emoji) dropped, recursively."""
    if isinstance(value, str):
        chars = _font_chars()
        return "".join(ch for ch in value if ord(ch) in chars or ch == "\n")
    if isinstance(value, list):
        return [_drawable(v) for v in value]
    if isinstance(value, dict):
        return {k: v if k == "href" else _drawable(v) for k, v in value.items()}
    return value


def _write_pdf(context: dict, path: Path) -> None:
    """Lay the report out with Typst (reports/templates/report.typ): A4, landscape when a table has
    WIDE_COLUMNS columns or more, wrapped cells, header rows repeated on every page, page numbers.
    The template reads the data as JSON, so no text is ever interpreted as markup."""
    import typst

    landscape = any(s["columns"] is not None and len(s["columns"]) >= WIDE_COLUMNS for s in context["sections"])
    width, height = _PAGE_MM[landscape]
    with tempfile.TemporaryDirectory(prefix="tsur-pdf-") as tmp:
        folder = Path(tmp)
        sections = []
        for i, s in enumerate(context["sections"]):
            pictures = []
            for j, png in enumerate(s["pictures"]):
                (folder / f"picture-{i}-{j}.png").write_bytes(png)
                w_px, h_px = _png_size(png)
                natural = w_px / _PICTURE_DPI * 25.4
                pictures.append({"file": f"picture-{i}-{j}.png",
                                 "width_mm": round(min(natural, width, height * w_px / h_px), 1)})
            sections.append({**s, "pictures": pictures})
        data = _drawable({**context, "sections": sections}) | {"landscape": landscape}
        (folder / "report.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        (folder / "report.typ").write_bytes(_TYPST_TEMPLATE.read_bytes())
        typst.compile(str(folder / "report.typ"), output=str(path), root=str(folder), font_paths=_typst_fonts(),
                      ignore_system_fonts=True)


# --- XLSX -----------------------------------------------------------------------------------------

_SHEET_INVALID = re.compile(r"[\[\]:*?/\\]")
_XLSX_FORMATS = {datetime: "DD.MM.YYYY HH:MM", date: "DD.MM.YYYY", int: "#,##0", float: "#,##0.0"}


def _sheet_name(heading: str, used: set[str]) -> str:
    """Excel sheet name: invalid characters removed, ≤ 31 characters, unique (case-insensitive)."""
    base = _SHEET_INVALID.sub("", heading).strip().strip("'").strip()[:31].strip() or "Лист"
    name, n = base, 2
    while name.casefold() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)].rstrip() + suffix, n + 1
    used.add(name.casefold())
    return name


def _xlsx_value(value: object) -> object:
    """A cell value openpyxl stores natively: numbers as numbers, datetimes naive in Moscow time."""
    if _is_missing(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, datetime):
        return _moscow_naive(value)
    if isinstance(value, date):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if _is_number(value):
        return float(value)
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))[:32767]


def _write_xlsx(report: _Report, path: Path) -> None:
    wb = Workbook()
    summary = wb.active
    summary.title = "Сводка"
    summary.column_dimensions["A"].width = 100
    wrap = Alignment(wrap_text=True, vertical="top")
    lines = [(report.title, Font(bold=True, size=14)), (report.subtitle, Font(size=12)),
             (f"Сформировано {report.generated} (МСК)", Font(italic=True, color="777777")), ("", None)]
    for s in report.sections:
        lines += [(s.heading, Font(bold=True))] + ([(s.note, None)] if s.note else [])
    for row, (text, font) in enumerate(lines, start=1):
        cell = summary.cell(row=row, column=1, value=_xlsx_value(text) or None)
        cell.alignment = wrap
        if font is not None:
            cell.font = font

    used = {"сводка"}
    for s in report.sections:
        if s.table is None:
            continue
        ws = wb.create_sheet(_sheet_name(s.heading, used))
        columns = [str(c) for c in s.table.columns]
        widths = [len(c) for c in columns]
        for col, name in enumerate(columns, start=1):
            ws.cell(row=1, column=col, value=_xlsx_value(name)).font = Font(bold=True)
        for r, row in enumerate(_rows(s.table), start=2):
            for col, (raw, name) in enumerate(zip(row, columns), start=1):
                value = _xlsx_value(raw)
                cell = ws.cell(row=r, column=col, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # text starting with '=' is text, not a formula
                    if href := _href(raw, name):
                        cell.hyperlink, cell.style = href, "Hyperlink"
                elif value is not None and type(value) in _XLSX_FORMATS:
                    cell.number_format = _XLSX_FORMATS[type(value)]
                widths[col - 1] = max(widths[col - 1], len(format_value(raw, name)))
        for col, width in enumerate(widths, start=1):
            ws.column_dimensions[ws.cell(row=1, column=col).column_letter].width = min(60, max(8, width + 2))
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = ws.dimensions
    wb.save(path)


# --- entry point ----------------------------------------------------------------------------------

def write_report(base: Path, title: str, subtitle: str, sections: list[Section],
                 formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    """Write ``base`` (a path without extension) with the suffix of each format (.html, .pdf, .xlsx);
    return {format: path}. The HTML is rendered once; the PDF is laid out from that same HTML.

    Parent directories are created; each file is replaced atomically, so a re-run overwrites."""
    formats = tuple(formats)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown}; known: {list(FORMATS)}")
    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    generated = datetime.now(MOSCOW).strftime("%d.%m.%Y %H:%M")
    report = _Report(title, subtitle, generated, list(sections), [_pictures(s) for s in sections])
    context = _context(report)
    writers: dict[str, Callable[[Path], object]] = {
        "html": lambda p: p.write_text(_html(context), encoding="utf-8"),
        "pdf": partial(_write_pdf, context),
        "xlsx": partial(_write_xlsx, report),
    }
    return {fmt: _atomic(base.with_suffix(f".{fmt}"), writers[fmt]) for fmt in formats}
