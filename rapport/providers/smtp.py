"""Email over SMTP (host, port, STARTTLS and login from `RAPPORT_SMTP_*` settings).

The Message-ID is derived from the message's idempotency key, so a redelivered
activity sends a message with the same Message-ID, which mail systems use to
recognise it as the same message. The body goes as plain text and as simple
HTML made from it (paragraphs, line breaks, links).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from rapport.providers.base import Outgoing, PermanentFailure, Receipt, TransientFailure

_URL = re.compile(r"(https?://[^\s<>\"]+)")


def message_id(key: str, domain: str = "rapport.invalid") -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"


def to_html(text: str) -> str:
    paragraphs = []
    for block in text.split("\n\n"):
        escaped = html.escape(block)
        linked = _URL.sub(r'<a href="\1">\1</a>', escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>\n") + "</p>")
    return "<!doctype html>\n<html><body>\n" + "\n".join(paragraphs) + "\n</body></html>\n"


def header(value: str) -> str:
    """A header value on one line: a line break in a subject or an address would start a
    header of the attacker's choosing (Bcc: ...), so every run of white space is one space."""
    return " ".join(value.split())


def build_email(item: Outgoing, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = header(sender)
    message["To"] = header(item.to)
    message["Subject"] = header(item.subject or "")
    message["Message-ID"] = message_id(item.key)
    message["Date"] = formatdate(localtime=False)
    message["X-Rapport-Key"] = item.key
    if item.unsubscribe_url:  # RFC 8058: the mail client's "unsubscribe" is one POST
        message["List-Unsubscribe"] = f"<{item.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(item.body)
    message.add_alternative(to_html(item.body), subtype="html")
    return message


class SmtpEmail:
    idempotent = True  # by Message-ID, where the receiving system honours it

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        starttls: bool = True,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 20.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout = timeout

    async def deliver(self, item: Outgoing) -> Receipt:
        await asyncio.to_thread(self._send, build_email(item, self.sender))
        return "delivered"

    def _send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username:
                    smtp.login(self.username, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            code, reason = next(iter(exc.recipients.values()))
            raise _classify(code, reason) from None
        except smtplib.SMTPResponseException as exc:
            raise _classify(exc.smtp_code, exc.smtp_error) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientFailure(f"smtp: {exc}") from None


NEEDS = ("smtp_host", "smtp_from")
SERVES = ("email",)


def _classify(code: int, reason: bytes | str) -> Exception:
    text = reason.decode(errors="replace") if isinstance(reason, bytes) else reason
    if 500 <= code < 600:
        return PermanentFailure(f"smtp {code}: {text}")
    return TransientFailure(f"smtp {code}: {text}")
