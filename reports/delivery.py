"""Deliver rendered reports by e-mail: who gets what (recipients.yaml), the message, and sending it
either straight through SMTP or through an Airflow SMTP connection.

Airflow is imported only inside ``send_with_airflow``, so this module also works in the stream env."""
from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from html.parser import HTMLParser
from pathlib import Path

import yaml

log = logging.getLogger(__name__)

REGIONAL_KEY = "*"
ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                     r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$")
MIME_TYPES = {
    ".pdf": ("application", "pdf"),
    ".xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ".html": ("text", "html"),
    ".png": ("image", "png"),
}


@dataclass(frozen=True)
class Recipients:
    """E-mail addresses per municipality, and those of the regional centre (key "*" in the file)."""

    municipalities: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    centre: tuple[str, ...] = ()

    @classmethod
    def load(cls, path: Path | str) -> Recipients:
        """Read ``{municipality: [address, …], "*": [address, …]}`` from YAML; bad entries raise ValueError."""
        path = Path(path)
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a mapping 'municipality: [addresses]', got {type(data).__name__}")
        entries: dict[str, tuple[str, ...]] = {}
        for name, addresses in data.items():
            if addresses is None:
                addresses = []
            if not isinstance(name, str) or not isinstance(addresses, list):
                raise ValueError(f"{path}: entry {name!r}: expected a name with a list of addresses")
            for address in addresses:
                if not isinstance(address, str) or not ADDRESS.match(address.strip()):
                    raise ValueError(f"{path}: entry {name!r}: invalid e-mail address {address!r}")
            entries[name.strip()] = tuple(dict.fromkeys(a.strip() for a in addresses))
        centre = entries.pop(REGIONAL_KEY, ())
        return cls(municipalities=entries, centre=centre)

    def for_municipality(self, name: str) -> list[str]:
        """The municipality's own addresses (the regional centre's are not added); [] if none."""
        return list(self.municipalities.get(name.strip(), ()))

    def regional(self) -> list[str]:
        """The regional centre's addresses; [] if the file has no "*" entry."""
        return list(self.centre)


class _TextExtractor(HTMLParser):
    """Collects the text of an HTML page: blocks become lines, table cells are joined by ' | '."""

    BLOCKS = {"p", "div", "section", "table", "h1", "h2", "h3", "h4", "h5", "h6"}  # a line before and after
    LINES = {"br", "tr", "li"}  # a line before
    CELL = "\x00"

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in ("script", "style", "title"):
            self.skip += 1
        elif tag in self.BLOCKS or tag in self.LINES:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(self.CELL)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """A plain-text version of an HTML body (for the text/plain alternative)."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = []
    for line in "".join(parser.parts).splitlines():
        cells = [" ".join(c.split()) for c in line.split(_TextExtractor.CELL)]
        if len(cells) > 1 and not cells[0]:
            cells = cells[1:]
        text = " | ".join(cells).strip()
        if text or (lines and lines[-1]):
            lines.append(text)
    return "\n".join(lines).strip() + "\n"


def build_message(sender: str, to: list[str], subject: str, html_body: str,
                  attachments: list[Path]) -> EmailMessage:
    """An HTML e-mail with a plain-text alternative and the files attached (RFC 2231 file names)."""
    if not to:
        raise ValueError("a message needs at least one recipient")
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(html_to_text(html_body))
    message.add_alternative(html_body, subtype="html")
    for path in map(Path, attachments):
        maintype, subtype = MIME_TYPES.get(path.suffix.lower(), ("application", "octet-stream"))
        message.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)
    return message


def _send(client: smtplib.SMTP, message: EmailMessage) -> None:
    refused = client.send_message(message)
    if refused:
        log.warning("SMTP server refused some recipients of %r: %s", message["Subject"], refused)


def send_smtp(message: EmailMessage, host: str, port: int, user: str | None = None, password: str | None = None,
              starttls: bool = False, timeout: float = 30) -> None:
    """Send through an SMTP server (STARTTLS with certificate checks if asked, login if a user is given)."""
    with smtplib.SMTP(host, port, timeout=timeout) as client:
        if starttls:
            client.starttls(context=ssl.create_default_context())
        if user:
            client.login(user, password or "")
        _send(client, message)


def send_with_airflow(message: EmailMessage, conn_id: str = "smtp_default") -> None:
    """Send through the Airflow SMTP connection ``conn_id`` (host, port, login; TLS/SSL from its extras).

    SmtpHook.send_email_smtp builds its own message from files (every attachment
    application/octet-stream, no text alternative), so the prepared message goes through the
    client the hook has connected and logged in. The hook has no public accessor for that client
    (apache-airflow-providers-smtp 3.2: ``_smtp_client``, also used by its own test_connection).
    If the message has no From, the connection's ``from_email`` extra is used."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=conn_id) as hook:
        if message["From"] is None and hook.from_email:
            message["From"] = hook.from_email
        _send(hook._smtp_client, message)
