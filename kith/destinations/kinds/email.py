"""E-mail over SMTP (aiosmtplib: never blocks the event loop)."""

from __future__ import annotations

from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any, Literal

import aiosmtplib
import orjson
from pydantic import Field, field_validator

from kith.destinations.kind import Attempt, DestinationKind, KindConfig, Outgoing
from kith.destinations.retry import failed
from kith.notation.rendering import TemplateSyntaxError, TextTemplate, compile_text_template

TlsMode = Literal["starttls", "implicit", "none"]


def _template(value: str, name: str) -> str:
    try:
        compile_text_template(value)
    except TemplateSyntaxError as error:
        raise ValueError(f"{name}: {error}") from None
    return value


class EmailConfig(KindConfig):
    host: str = Field(min_length=1, max_length=255, description="SMTP server.")
    port: int = Field(587, ge=1, le=65535)
    user: str | None = Field(None, max_length=255)
    password: str | None = Field(None, max_length=1024, description="Write-only.")
    tls: TlsMode | bool = Field(
        "starttls",
        description="`starttls` (or true): upgrade when the server offers it; `implicit`:"
        " TLS from the first byte (port 465); `none` (or false): plain text.",
    )
    from_: str = Field(alias="from", min_length=3, max_length=320, description="Sender.")
    to: str = Field(
        min_length=1,
        max_length=4096,
        description="Recipients, comma-separated, a text template"
        " (`{{profile@data.contact.email.main}}`).",
    )
    subject: str = Field("", max_length=4096, description="A text template.")
    body: str = Field("", max_length=1_000_000, description="Plain-text body, a text template.")
    timeout: float = Field(30.0, gt=0, le=300, description="Seconds per attempt.")

    model_config = {**KindConfig.model_config, "populate_by_name": True}

    @field_validator("to", "subject", "body")
    @classmethod
    def compiles(cls, value: str) -> str:
        return _template(value, "template")


def _code(error: aiosmtplib.SMTPException) -> int | None:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refused.code for refused in error.recipients]
        return max(codes) if codes else None
    return getattr(error, "code", None)


class Email(DestinationKind[EmailConfig]):
    """Sends one e-mail per delivery through an SMTP server. `to`, `subject` and
    `body` are text templates rendered when the delivery is queued; the message's
    `Message-ID` is derived from the delivery id (the same on every retry). SMTP 4xx
    answers and connection errors are retried, 5xx are final. Example config:
    `{"host": "smtp.example.com", "port": 587, "user": "kith", "password": "...",
    "tls": "starttls", "from": "shop@example.com",
    "to": "{{profile@data.contact.email.main}}", "subject": "Thanks for your order",
    "body": "Hi {{profile@data.pii.firstname|default:'there'}}"}`."""

    kind = "email"
    name = "E-mail"
    config_model = EmailConfig
    secrets = ("password",)

    def __init__(self, config: EmailConfig, mapping: Any) -> None:
        super().__init__(config, mapping)
        self._to: TextTemplate = compile_text_template(config.to)
        self._subject: TextTemplate = compile_text_template(config.subject)
        self._body: TextTemplate = compile_text_template(config.body)

    def payload(self, scope: Mapping[str, Any]) -> Any:
        recipients = [part.strip() for part in self._to.render(scope).split(",")]
        return {
            "to": [r for r in recipients if r],
            "subject": self._subject.render(scope),
            "body": self._body.render(scope),
        }

    def _message(self, item: Outgoing, payload: dict[str, Any]) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.config.from_
        message["To"] = ", ".join(payload["to"])
        message["Subject"] = payload["subject"]
        message["Message-ID"] = f"<{item.id}@kith>"
        message.set_content(payload["body"])
        return message

    async def send(self, batch: list[Outgoing]) -> Attempt:
        (item,) = batch
        payload = orjson.loads(item.body)
        if not payload.get("to"):
            return Attempt(error="no recipient: `to` rendered empty", retry=False)
        tls = self.config.tls
        mode = "starttls" if tls is True else "none" if tls is False else tls
        try:
            _, answer = await aiosmtplib.send(
                self._message(item, payload),
                hostname=self.config.host,
                port=self.config.port,
                username=self.config.user,
                password=self.config.password,
                use_tls=mode == "implicit",
                start_tls=None if mode == "starttls" else False,
                timeout=self.config.timeout,
            )
        except (aiosmtplib.SMTPTimeoutError, aiosmtplib.SMTPConnectError) as error:
            return failed(error)
        except aiosmtplib.SMTPException as error:
            code = _code(error)
            return Attempt(
                status=code,
                error=f"SMTP {code}: {error}" if code else str(error),
                retry=code is None or code < 500,
            )
        except OSError as error:
            return failed(error)
        return Attempt(status=250, answer=answer)
