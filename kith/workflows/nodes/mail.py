"""The e-mail node: one message through an SMTP server, sent with aiosmtplib so the
event loop never waits on the mail server.

The SMTP password is a `SecretStr`: it is marked `writeOnly` in the config
schema, never part of the node's output, and the engine blanks it out of error
messages (`FlowNode.secrets`), so no trace or `errors` entry shows it."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from typing import Any, Final, Literal

import aiosmtplib
from pydantic import Field, SecretStr, field_validator

from kith.workflows.node import FlowNode, NodeConfig, NodeError, Output
from kith.workflows.nodes._compile import text_template
from kith.workflows.run import FlowRun

MAX_RECIPIENTS: Final = 50


def addresses(text: str) -> list[str]:
    """The e-mail addresses of a rendered `to` ("a@x.com, Bo <b@y.com>")."""
    found = [address for _, address in getaddresses([" ".join(text.split())])]
    if not found or any("@" not in address or " " in address for address in found):
        raise NodeError(f"not a list of e-mail addresses: {text!r}")
    if len(found) > MAX_RECIPIENTS:
        raise NodeError(f"at most {MAX_RECIPIENTS} recipients")
    return found


class SendEmailConfig(NodeConfig):
    host: str = Field(min_length=1, max_length=255, description="The SMTP server.")
    port: int = Field(587, ge=1, le=65535)
    user: str | None = Field(None, max_length=255, description="The SMTP login, if any.")
    password: SecretStr | None = Field(
        None, description="The SMTP password (never shown in traces or errors)."
    )
    tls: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="`starttls` (upgrade a plain connection, port 587), `tls` (TLS from "
        "the start, port 465) or `none` (a local relay only).",
    )
    sender: str = Field(alias="from", min_length=3, max_length=320, description="The sender.")
    to: str = Field(
        min_length=1, max_length=8192, description="A text template: comma-separated addresses."
    )
    subject: str = Field(max_length=998, description="A text template.")
    body: str = Field(max_length=1_000_000, description="A text template.")
    html: bool = Field(False, description="The body is HTML rather than plain text.")
    timeout: float = Field(5, gt=0, le=300, description="Seconds to wait for the server.")

    @field_validator("to", "subject", "body")
    @classmethod
    def compiles(cls, value: str) -> str:
        text_template(value)
        return value

    @field_validator("sender")
    @classmethod
    def one_address(cls, value: str) -> str:
        try:
            one = len(addresses(value)) == 1
        except NodeError:
            one = False
        if not one:
            raise ValueError(f"from: not one e-mail address: {value!r}")
        return value


class SendEmail(FlowNode[SendEmailConfig]):
    """Sends an e-mail through an SMTP server and passes on `{"to": [...], "subject":
    "...", "message_id": "<...>"}`. `to`, `subject` and `body` are text templates.
    Example: `{"host": "smtp.example.com", "port": 587, "user": "kith", "password":
    "...", "tls": "starttls", "from": "shop@example.com", "to": "team@example.com",
    "subject": "Big order: {{event@properties.total}}", "body": "{{profile@data.pii.firstname}}
    ordered for {{event@properties.total}}."}`. Meant for async flows: the send waits on
    the mail server. A refused login, recipient or message fails the node."""

    type = "send-email"
    name = "Send e-mail"
    family = "remote"
    config_model = SendEmailConfig
    io = True

    def __init__(self, config: SendEmailConfig) -> None:
        super().__init__(config)
        self._to = text_template(config.to)
        self._subject = text_template(config.subject)
        self._body = text_template(config.body)

    def message(self, run: FlowRun, payload: Any) -> EmailMessage:
        scope = run.scope(payload)
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = ", ".join(addresses(self._to.render(scope)))
        message["Subject"] = " ".join(self._subject.render(scope).split())
        message["Date"] = format_datetime(run.now)
        message["Message-ID"] = make_msgid(domain=self.config.sender.rpartition("@")[2] or None)
        message.set_content(
            self._body.render(scope), subtype="html" if self.config.html else "plain"
        )
        return message

    async def run(self, run: FlowRun, payload: Any) -> Output:
        config = self.config
        message = self.message(run, payload)
        try:
            await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                username=config.user,
                password=config.password.get_secret_value() if config.password else None,
                use_tls=config.tls == "tls",
                start_tls=config.tls == "starttls",
                timeout=config.timeout,
            )
        except aiosmtplib.SMTPException as error:
            raise NodeError(f"SMTP {config.host}:{config.port}: {error}") from None
        except OSError as error:
            raise NodeError(f"SMTP {config.host}:{config.port}: {error}") from None
        return self.out(
            {
                "to": addresses(str(message["To"])),
                "subject": str(message["Subject"]),
                "message_id": str(message["Message-ID"]),
            }
        )


NODES = [SendEmail]
