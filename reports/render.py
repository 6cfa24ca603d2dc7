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
import numbers
import os
import re
import textwrap
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
import matplotlib.image
import numpy as np
import pandas as pd
from matplotlib import font_manager, ft2font
from matplotlib.backends.backend_pdf import PdfPages
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

_HTML = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                           trim_blocks=True, lstrip_blocks=True).from_string("""\
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
<img src="data:image/png;base64,{{ png }}" alt="{{ s.heading }}">
{% endfor %}
</section>
{% endfor %}
</body>
</html>
""")


def _write_html(report: _Report, path: Path) -> None:
    sections = []
    for s, pictures in zip(report.sections, report.pictures):
        columns = rows = None
        if s.table is not None:
            columns = [str(c) for c in s.table.columns]
            rows = [[{"text": format_value(v, c), "num": num, "href": _href(v, c)}
                     for v, c, num in zip(row, columns, nums)]
                    for row, nums in zip(_rows(s.table), _right_aligned(s.table))]
        sections.append({"heading": s.heading, "note": s.note, "columns": columns, "rows": rows,
                         "pictures": [base64.b64encode(p).decode("ascii") for p in pictures]})
    html = _HTML.render(title=report.title, subtitle=report.subtitle, generated=report.generated, sections=sections)
    path.write_text(html, encoding="utf-8")


# --- PDF ------------------------------------------------------------------------------------------

_PAGE_W, _PAGE_H = 8.27, 11.69  # A4 portrait, inches
_MARGIN = 0.6
_USABLE_W = _PAGE_W - 2 * _MARGIN
_ROWS_PER_PAGE = 30
_CELL_CHARS = 60
_CHAR_EM = 0.62  # average DejaVu Sans glyph width (mixed Cyrillic/Latin), in em


@cache
def _font_chars() -> frozenset[int]:
    return frozenset(ft2font.FT2Font(font_manager.findfont("DejaVu Sans")).get_charmap())


def _pdf_text(text: str, limit: int | None = None) -> str:
    """Text the font can draw: unknown glyphs (some emoji) dropped, whitespace collapsed, clipped."""
    chars = _font_chars()
    text = "".join(ch for ch in text if ord(ch) in chars or ch == "\n")
    if limit is not None:
        text = " ".join(text.split())
        if len(text) > limit:
            text = text[: limit - 1].rstrip() + "…"
    return text


@dataclass
class _PdfTable:
    """A table prepared for the PDF: clipped cell texts, column widths, font size, row heights (inches)."""

    labels: list[str]
    rows: list[list[str]]
    numeric: list[list[bool]]
    widths: list[float]  # fractions of the usable width
    size: float
    row_h: float
    header_h: float

    @classmethod
    def of(cls, table: pd.DataFrame) -> _PdfTable:
        columns = [str(c) for c in table.columns]
        rows = [[_pdf_text(format_value(v, c), _CELL_CHARS) for v, c in zip(row, columns)] for row in _rows(table)]
        numeric = _right_aligned(table)
        chars = [min(_CELL_CHARS, max([4, *(len(w) for w in c.split()), *(len(r[i]) for r in rows)]))
                 for i, c in enumerate(columns)]
        labels = [textwrap.fill(_pdf_text(c), chars[i]) for i, c in enumerate(columns)]
        size = max(4.5, min(7.5, _USABLE_W * 72 / ((sum(chars) + 2 * len(chars)) * _CHAR_EM)))
        header_h = (max([label.count("\n") for label in labels], default=0) + 1.6) * size * 1.3 / 72
        return cls(labels, rows, numeric, [c / sum(chars) for c in chars], size, size * 1.8 / 72, header_h)

    def height(self, n_rows: int) -> float:
        return self.header_h + n_rows * self.row_h


class _PdfFlow:
    """Lays blocks (text, table parts, pictures) top-down on A4 pages."""

    def __init__(self, pdf: PdfPages) -> None:
        self.pdf = pdf
        self.fig: Figure | None = None
        self.y = 0.0  # inches from the page bottom

    def new_page(self) -> None:
        self.close()
        self.fig = Figure(figsize=(_PAGE_W, _PAGE_H))
        self.y = _PAGE_H - _MARGIN

    def close(self) -> None:
        if self.fig is not None:
            self.pdf.savefig(self.fig)
            self.fig = None

    def room(self, height: float) -> Figure:
        """Start a new page unless ``height`` inches are left on this one."""
        if self.fig is None or self.y - height < _MARGIN:
            self.new_page()
        return self.fig

    def _axes(self, left: float, width: float, height: float):
        ax = self.fig.add_axes((left / _PAGE_W, (self.y - height) / _PAGE_H, width / _PAGE_W, height / _PAGE_H))
        ax.set_axis_off()
        return ax

    @staticmethod
    def _lines(text: str, size: float) -> list[str]:
        width = int(_USABLE_W * 72 / (size * _CHAR_EM))
        return [line for para in _pdf_text(text).splitlines() for line in (textwrap.wrap(para, width) or [""])]

    @classmethod
    def text_height(cls, text: str, size: float, gap: float = 0.1) -> float:
        return len(cls._lines(text, size)) * size * 1.3 / 72 + gap

    def text(self, text: str, size: float = 10, bold: bool = False, color: str = "#222222", gap: float = 0.1) -> None:
        """Wrapped text; a text longer than the rest of the page continues on the next one."""
        lines = self._lines(text, size)
        line_h = size * 1.3 / 72
        while lines:
            fig = self.room(line_h)
            n = max(1, int((self.y - _MARGIN) / line_h))
            batch, lines = lines[:n], lines[n:]
            fig.text(_MARGIN / _PAGE_W, self.y / _PAGE_H, "\n".join(batch), fontsize=size, va="top", ha="left",
                     fontweight="bold" if bold else "normal", color=color, linespacing=1.3)
            self.y -= len(batch) * line_h
        self.y -= gap

    def table(self, heading: str, table: _PdfTable) -> None:
        """The table in parts of at most 30 rows; each further part on a new page under '… (продолжение)'."""
        if not table.rows:
            self.text("Нет данных", size=9, color="#777777")
            return
        for start in range(0, len(table.rows), _ROWS_PER_PAGE):
            part = table.rows[start:start + _ROWS_PER_PAGE]
            if start:
                self.new_page()
                self.text(f"{heading} (продолжение)", size=11, bold=True)
            height = table.height(len(part))
            self.room(height)
            tbl = self._axes(_MARGIN, _USABLE_W, height).table(
                cellText=part, colLabels=table.labels, colWidths=table.widths, cellLoc="left", bbox=(0, 0, 1, 1))
            tbl.auto_set_font_size(False)
            tbl.set_fontsize(table.size)
            for (r, c), cell in tbl.get_celld().items():
                cell.PAD = min(0.1, 0.04 / (table.widths[c] * _USABLE_W))  # ~0.04 in on each side
                cell.set_linewidth(0.3)
                cell.set_edgecolor("#b0b0b0")
                if r == 0:
                    cell.set_height(table.header_h)
                    cell.set_facecolor("#e8edf3")
                    cell.get_text().set_fontweight("bold")
                else:
                    cell.set_height(table.row_h)
                    cell.set_facecolor("#f6f6f6" if r % 2 == 0 else "white")
                    if table.numeric[start + r - 1][c]:
                        cell.get_text().set_horizontalalignment("right")
            self.y -= height + 0.15

    def picture(self, png: bytes) -> None:
        """A PNG at 150 dpi, shrunk to fit the page, centred."""
        pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
        h_px, w_px = pixels.shape[:2]
        width = min(_USABLE_W, w_px / 150)
        height = width * h_px / w_px
        max_h = _PAGE_H - 2 * _MARGIN - 0.5
        if height > max_h:
            width, height = width * max_h / height, max_h
        self.room(height)
        self._axes((_PAGE_W - width) / 2, width, height).imshow(pixels, interpolation="none")
        self.y -= height + 0.15


def _write_pdf(report: _Report, path: Path) -> None:
    with matplotlib.rc_context({"font.family": "DejaVu Sans", "pdf.fonttype": 42}), \
            PdfPages(path, metadata={"Title": report.title, "Subject": report.subtitle, "Creator": "tsur"}) as pdf:
        flow = _PdfFlow(pdf)
        flow.text(report.title, size=16, bold=True)
        if report.subtitle:
            flow.text(report.subtitle, size=12)
        flow.text(f"Сформировано {report.generated} (МСК)", size=8, color="#777777", gap=0.3)
        for s, pictures in zip(report.sections, report.pictures):
            table = _PdfTable.of(s.table) if s.table is not None else None
            # keep the heading and note with the first part of the table (or ~1.5 in of what follows)
            first = table.height(min(len(table.rows), _ROWS_PER_PAGE)) if table is not None and table.rows else 1.5
            intro = flow.text_height(s.heading, 13) + (flow.text_height(s.note, 10) if s.note else 0)
            flow.room(min(_PAGE_H - 2 * _MARGIN, intro + first))
            flow.text(s.heading, size=13, bold=True)
            if s.note:
                flow.text(s.note, size=10)
            if table is not None:
                flow.table(s.heading, table)
            for png in pictures:
                flow.picture(png)
        flow.close()


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

_WRITERS: dict[str, Callable[[_Report, Path], None]] = {"html": _write_html, "pdf": _write_pdf, "xlsx": _write_xlsx}


def write_report(base: Path, title: str, subtitle: str, sections: list[Section],
                 formats: Iterable[str] = FORMATS) -> dict[str, Path]:
    """Write ``base`` (a path without extension) with the suffix of each format (.html, .pdf, .xlsx);
    return {format: path}.

    Parent directories are created; each file is replaced atomically, so a re-run overwrites."""
    formats = tuple(formats)
    unknown = sorted(set(formats) - _WRITERS.keys())
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown}; known: {list(FORMATS)}")
    base = Path(base)
    base.parent.mkdir(parents=True, exist_ok=True)
    generated = datetime.now(MOSCOW).strftime("%d.%m.%Y %H:%M")
    report = _Report(title, subtitle, generated, list(sections), [_pictures(s) for s in sections])
    return {fmt: _atomic(base.with_suffix(f".{fmt}"), partial(_WRITERS[fmt], report)) for fmt in formats}
