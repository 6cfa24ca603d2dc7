"""Report rendering (HTML, PDF, XLSX) and e-mail delivery: direct SMTP and through an Airflow
SMTP connection, both against a real local SMTP sink (aiosmtpd)."""
from __future__ import annotations

import email
import email.policy
import json
import re
import shutil
import subprocess
import warnings
from datetime import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from matplotlib.figure import Figure

from reports.delivery import (
    Recipients,
    build_message,
    html_to_text,
    send_smtp,
    send_with_airflow,
)
from reports.render import Section, fmt_hours, format_value, write_report
from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.airflow
ARTIFACTS = ROOT / "test-artifacts"
CONFIG = ROOT / "reports" / "config" / "recipients.yaml"
LONG_TEXT = "Во дворе дома на улице Красной третью неделю не вывозят мусор, контейнеры переполнены " * 3


def _sections() -> list[Section]:
    complaints = pd.DataFrame({
        "Муниципалитет": ["Усть-Лабинский район", "город Краснодар", "город-курорт Сочи"],
        "Жалоб": [1234, 56, 7890123],
        "Доля просроченных, %": [12.5, 0.0, 99.94],
        "Среднее время реакции, ч": [3.46, 12.0, float("nan")],
        "Первая жалоба": pd.to_datetime(["2026-11-20T09:15:00Z", "2026-11-20T21:30:00Z", None], utc=True),
        "Текст": ["<script>alert('x')</script>", "🔥😡 " + LONG_TEXT, "=1+1"],
        "Ссылка": ["https://vk.com/wall-1_2", "javascript:alert(1)", None],
    })
    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    ax.bar(["ЖКХ", "Дороги", "Транспорт"], [42, 17, 8])
    ax.set_title("Жалобы по отраслям")
    return [
        Section("Жалобы по муниципалитетам", complaints, note=f"Среднее время реакции: {fmt_hours(3.46)}."),
        Section("Динамика: жалобы/день [неделя]", pd.DataFrame({"День": ["20.11", "21.11"], "Жалоб": [10, 12]}),
                note="Рост на 20 %.", figure=fig),
    ]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    base = tmp_path_factory.mktemp("reports") / "nested" / "sla_2026-11-20"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        paths = write_report(base, "Жалобы жителей за 20.11.2026", "Краснодарский край", _sections())
    return paths, [str(w.message) for w in caught]


def test_formatting_helpers():
    assert fmt_hours(3.46) == "3,5 ч"
    assert fmt_hours(None) == "—"
    assert format_value(1234567, "Жалоб") == "1\u2009234\u2009567"
    assert format_value(1234.56, "Часов") == "1\u2009234,6"
    assert format_value(12.5, "Доля, %") == "12,5\u00a0%"
    assert format_value(pd.Timestamp("2026-11-20T21:30Z"), "Время") == "21.11.2026 00:30"


def test_all_formats_written(report):
    paths, caught = report
    assert set(paths) == {"html", "pdf", "xlsx"}
    for fmt, path in paths.items():
        assert path.suffix == f".{fmt}" and path.stat().st_size > 0
    assert not list(paths["html"].parent.glob(".*.tmp")), "temporary files left behind"
    assert not [m for m in caught if "missing from font" in m], caught


def test_html_is_escaped_and_self_contained(report):
    html = report[0]["html"].read_text(encoding="utf-8")
    assert '<html lang="ru">' in html and '<meta charset="utf-8">' in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<script>" not in html
    assert '<a href="https://vk.com/wall-1_2"' in html
    assert 'href="javascript' not in html and "javascript:alert(1)" in html
    assert '<td class="num">—</td>' in html  # a missing number stays right-aligned
    assert "1\u2009234" in html and "7\u2009890\u2009123" in html
    assert "12,5\u00a0%" in html and "3,5 ч" in html
    assert "20.11.2026 12:15" in html  # 09:15 UTC in Moscow time
    assert "Сформировано" in html and "data:image/png;base64," in html
    rest = re.sub(r'<a href="https?://[^"]*"[^>]*>[^<]*</a>', "", html)
    rest = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", rest)
    assert "http" not in rest and "//" not in rest.replace("<!DOCTYPE", "")


def test_xlsx_sheets_and_values(report):
    wb = openpyxl.load_workbook(report[0]["xlsx"])
    assert wb.sheetnames == ["Сводка", "Жалобы по муниципалитетам", "Динамика жалобыдень неделя"]
    assert wb["Сводка"]["A1"].value == "Жалобы жителей за 20.11.2026"
    summary = [c.value for c in wb["Сводка"]["A"]]
    assert "Краснодарский край" in summary and "Рост на 20 %." in summary
    ws = wb["Жалобы по муниципалитетам"]
    header = [c.value for c in ws[1]]
    assert header == ["Муниципалитет", "Жалоб", "Доля просроченных, %", "Среднее время реакции, ч",
                      "Первая жалоба", "Текст", "Ссылка"]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws["B4"].value == 7890123 and ws["C2"].value == 12.5
    assert ws["D4"].value is None
    assert ws["E2"].value == datetime(2026, 11, 20, 12, 15) and ws["E2"].is_date
    assert ws["F2"].value == "<script>alert('x')</script>"
    assert ws["F4"].value == "=1+1" and ws["F4"].data_type == "s"  # text, not a formula
    assert ws["G2"].hyperlink.target == "https://vk.com/wall-1_2"
    assert ws.column_dimensions["F"].width == 60


def _pages(pdf: Path) -> list[bytes]:
    """The MediaBox of every page, read from the PDF's own objects."""
    return re.findall(rb"/MediaBox\s*\[([^\]]*)\]", pdf.read_bytes())


def _text_pages(pdf: Path) -> list[str] | None:
    """The text of each page (poppler's pdftotext), or None on a machine without poppler."""
    if shutil.which("pdftotext") is None:
        return None
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    return [" ".join(page.split()) for page in out.split("\f")[:-1]]


def test_pdf(report):
    pdf = report[0]["pdf"]
    assert pdf.read_bytes().startswith(b"%PDF")
    boxes = _pages(pdf)
    assert boxes and all(b.split()[2:] == [b"841.8898", b"595.2756"] for b in boxes), boxes  # A4 landscape: 7 columns
    text = _text_pages(pdf)
    if text is None:
        return  # no poppler on this machine: no text check, no PNG preview
    whole = " ".join(text)
    assert "Жалобы жителей за 20.11.2026" in text[0] and "стр. 1 из" in text[0]
    assert "<script>alert('x')</script>" in whole and "=1+1" in whole  # shown as text, never markup
    assert whole.count("контейнеры переполнены") == 3  # the long cell wraps, nothing is cut off
    assert "🔥" not in whole  # glyphs the font lacks are dropped, not drawn as boxes
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "80", str(pdf), str(ARTIFACTS / "report-page")], check=True)
    assert len(list(ARTIFACTS.glob("report-page*.png"))) >= len(boxes)


def test_long_table_repeats_its_header_on_every_page_and_rerun_replaces(tmp_path):
    rows = pd.DataFrame({"№": range(1, 76), "Текст": [f"{LONG_TEXT} #set page(width: 1cm) *жирный* $x$ конец {i}"
                                                     for i in range(1, 76)]})
    paths = write_report(tmp_path / "long", "Длинный отчёт", "", [Section("Все жалобы", rows)], formats=("pdf",))
    boxes = _pages(paths["pdf"])
    assert len(boxes) >= 3 and all(b.split()[2:] == [b"595.2756", b"841.8898"] for b in boxes)  # A4 portrait
    text = _text_pages(paths["pdf"])
    if text is not None:
        assert all("№ Текст" in page for page in text), "the header row is not repeated on every page"
        assert all(f"конец {i}" in " ".join(text) for i in range(1, 76))
        assert " ".join(text).count("#set page(width: 1cm) *жирный* $x$") == 75
    again = write_report(tmp_path / "long", "Короткий", "", [Section("Пусто", rows.head(0))], formats=("pdf",))
    assert again == paths and len(_pages(paths["pdf"])) == 1


def test_sheet_names_are_valid_and_unique(tmp_path):
    table = pd.DataFrame({"А": [1]})
    heading = "Очень длинный заголовок раздела: жалобы/обращения [все] за сутки"
    paths = write_report(tmp_path / "r", "Т", "", [Section(heading, table)] * 3 + [Section("Сводка", table)],
                         formats=("xlsx",))
    names = openpyxl.load_workbook(paths["xlsx"]).sheetnames
    assert names[0] == "Сводка" and len(set(n.casefold() for n in names)) == 5
    assert all(len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) for n in names)


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="docx"):
        write_report(tmp_path / "r", "Т", "", [], formats=("docx",))


# --- recipients -----------------------------------------------------------------------------------

def test_recipients_example_config():
    r = Recipients.load(CONFIG)
    assert r.for_municipality("Усть-Лабинский район")[0] == "glava@ust-labinsk.example.org"
    assert r.for_municipality("город-курорт Сочи") == ["glava@sochi.example.org"]
    assert r.for_municipality("город Краснодар")
    assert r.for_municipality("Неизвестный район") == []
    assert r.regional() == ["cur@krasnodar.example.org"]


def test_recipients_bad_address_names_file_and_entry(tmp_path):
    path = tmp_path / "recipients.yaml"
    path.write_text('"город Краснодар": [ok@krasnodar.example.org, "not an address"]\n', encoding="utf-8")
    with pytest.raises(ValueError) as err:
        Recipients.load(path)
    assert str(path) in str(err.value) and "город Краснодар" in str(err.value) and "not an address" in str(err.value)


# --- e-mail -------------------------------------------------------------------------------------

class _Sink:
    """aiosmtpd handler that keeps every envelope."""

    def __init__(self) -> None:
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted"


@pytest.fixture
def smtp_sink():
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port, sink
    finally:
        controller.stop()


@pytest.fixture
def message(report, tmp_path):
    pdf = tmp_path / "Жалобы за 20.11.2026.pdf"
    shutil.copy(report[0]["pdf"], pdf)
    attachments = [pdf, report[0]["xlsx"], report[0]["html"]]
    html = report[0]["html"].read_text(encoding="utf-8")
    to = ["glava@ust-labinsk.example.org", "cur@krasnodar.example.org"]
    return build_message("tsur@example.org", to, "Жалобы жителей: отчёт за 20.11.2026", html, attachments), attachments


def _check_received(sink: _Sink, attachments: list[Path]) -> None:
    assert len(sink.envelopes) == 1
    envelope = sink.envelopes[0]
    assert envelope.mail_from == "tsur@example.org"
    assert envelope.rcpt_tos == ["glava@ust-labinsk.example.org", "cur@krasnodar.example.org"]
    got = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert got["Subject"] == "Жалобы жителей: отчёт за 20.11.2026"
    body = got.get_body(("plain",)).get_content()
    assert "Жалобы по муниципалитетам" in body and "<td" not in body
    assert "<table>" in got.get_body(("html",)).get_content()
    parts = list(got.iter_attachments())
    assert [p.get_filename() for p in parts] == [p.name for p in attachments]
    assert [p.get_content_type() for p in parts] == [
        "application/pdf", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "text/html"]
    for part, path in zip(parts, attachments):
        assert part.get_payload(decode=True) == path.read_bytes()


def test_send_smtp_delivers(smtp_sink, message):
    port, sink = smtp_sink
    msg, attachments = message
    assert re.search(r"filename\*(0\*)?=utf-8''%D0%96", msg.as_string())  # RFC 2231: 'Ж…'
    send_smtp(msg, "127.0.0.1", port, timeout=10)
    _check_received(sink, attachments)


def test_send_with_airflow_connection(smtp_sink, message, monkeypatch):
    port, sink = smtp_sink
    monkeypatch.setenv("AIRFLOW_CONN_TSUR_SMTP_TEST", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        # SmtpHook reads these extras: no STARTTLS, plain SMTP (not SMTP_SSL), sender, one try
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "tsur@example.org", "retry_limit": 0},
    }))
    msg, attachments = message
    send_with_airflow(msg, conn_id="tsur_smtp_test")
    _check_received(sink, attachments)


def test_html_to_text():
    text = html_to_text("<html><head><title>T</title><style>p{}</style></head><body><h1>Отчёт</h1>"
                        "<table><tr><th>А</th><th>Б</th></tr><tr><td>1&nbsp;000</td><td>&lt;x&gt;</td></tr></table>"
                        "</body></html>")
    assert text == "Отчёт\n\nА | Б\n1 000 | <x>\n"
