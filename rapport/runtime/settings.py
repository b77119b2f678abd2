"""Settings from the environment: `RAPPORT_*`, plus the contract's Temporal names.

Which provider serves which channel (`RAPPORT_CHANNEL_<NAME>`, one setting per
channel in `rapport.channels`), and every secret, come from here. Secrets are
`SecretStr`: they print as '**********' and never reach workflow history.
`problems()` lists what a chosen provider is missing, so the worker can refuse to
start with a clear message instead of failing on the first message.

`RAPPORT_ENVIRONMENT` is `production` unless set: there, `worker.py` and `journey web`
also refuse every development default (`startup_problems`, a table of checks: a new
rule is one function in `PRODUCTION_CHECKS`). `make run`, `worker.py --dev` and the
tests run in `development`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, create_model
from pydantic_settings import BaseSettings, SettingsConfigDict

from rapport.channels import NAMES
from rapport.contract.names import TASK_QUEUE
from rapport.providers import outbox, smtp, twilio, webhook
from rapport.runtime.creditor import DEMO_PHONE, Creditor, contact_problems, creditor
from rapport.security.codec import KeyProblem, KeyRing
from rapport.security.links import LinkSigner
from rapport.security.sealing import FieldSealer

DEV_LINK_SECRET = "dev-only-link-secret"
LOOPBACK = ("127.0.0.1", "localhost", "::1")  # names and addresses of this machine
DEV_PAYMENT_API_KEY = "sk_dev"
DEV_PAYMENT_WEBHOOK_SECRET = "whsec_dev_only_not_secret"
DEV_PORTAL_URL = "http://localhost:8000"
DEMO_CREDITOR = "Rapport Demo Energy"
Environment = Literal["production", "development"]
Adapter = Literal["outbox", "smtp", "twilio", "webhook"]
ROUTED = (*NAMES, "handoff")
PROVIDERS: dict[str, Any] = {"outbox": outbox, "smtp": smtp, "twilio": twilio, "webhook": webhook}


def _serves(provider: str) -> tuple[str, ...]:
    served = PROVIDERS[provider].SERVES
    return ROUTED if served is None else tuple(served)


_CONFIG = SettingsConfigDict(env_prefix="RAPPORT_", extra="ignore")
# one `channel_<name>` field per routed channel: a new channel needs no change here
_Routes: Any = create_model(  # type: ignore[call-overload]
    "ChannelRoutes",
    __base__=BaseSettings,
    **{f"channel_{name}": (Adapter, "outbox") for name in ROUTED},
)


class Settings(_Routes):
    model_config = _CONFIG

    environment: Environment = "production"  # development: make run, worker.py --dev, tests
    temporal_address: str = Field(
        "localhost:7233",
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "RAPPORT_TEMPORAL_ADDRESS"),
    )
    temporal_namespace: str = Field(
        "default", validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "RAPPORT_TEMPORAL_NAMESPACE")
    )
    task_queue: str = Field(
        TASK_QUEUE, validation_alias=AliasChoices("JOURNEY_TASK_QUEUE", "RAPPORT_TASK_QUEUE")
    )
    journeys_dir: Path = Path("journeys")
    data_dir: Path = Path("data")
    database_url: str | None = None  # default: a SQLite file in the data folder
    outbox_path: Path = Path("data/outbox.jsonl")
    link_secret: SecretStr = SecretStr(DEV_LINK_SECRET)

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str | None = None
    smtp_timeout: float = 20.0

    twilio_base_url: str = "https://api.twilio.com"
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_timeout: float = 10.0

    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_timeout: float = 10.0

    billing_url: str | None = None
    billing_token: SecretStr | None = None
    billing_timeout: float = 5.0

    log_format: Literal["plain", "json"] = "plain"

    # payloads encrypted in Temporal's history: `id:base64key,...`, the first encrypts
    encryption_keys: SecretStr | None = None
    codec_token: SecretStr | None = None  # required by /codec/* when set
    portal_url: str = DEV_PORTAL_URL  # the web app's public base URL

    # who the customer deals with: the portal's header (the name, before any check), and
    # after the check every page's contact details (rapport.runtime.creditor)
    creditor_name: str = DEMO_CREDITOR
    creditor_phone: str = DEMO_PHONE  # international form: +1 800 555 0100
    creditor_hours: str = "mon-fri 08:00-20:00"  # when a person answers it
    creditor_timezone: str = "America/New_York"  # the zone of those hours
    creditor_email: str | None = None  # shown beside the phone when set
    portal_requests_per_token: int = 60  # a minute, every web process together (the store)
    portal_requests_per_address: int = 300  # a minute, all processes (NAT: many people)
    # the intake API (/v1/...): requests a minute per API key, every web process together
    # (the store), and the largest body a request may carry
    api_requests_per_key: int = 600
    # requests a minute with no key or a wrong one from one client address (/64 for IPv6),
    # counted in each web process's memory; past it, 429 until the minute ends
    api_failed_auth_per_address: int = 30
    api_body_bytes: int = 64 * 1024
    payment_provider: Literal["dev", "stripe"] = "dev"
    payment_api_url: str | None = None  # default: Stripe's, or the dev stand-in's
    # where the provider's hosted pages are (the portal's CSP lets its forms lead there)
    payment_page_url: str | None = None  # default: Stripe Checkout's, or the dev stand-in's
    payment_api_key: SecretStr = SecretStr(DEV_PAYMENT_API_KEY)
    payment_webhook_secret: SecretStr = SecretStr(DEV_PAYMENT_WEBHOOK_SECRET)
    # what an SMS reply of HELP is answered with, before "Reply STOP to stop texts."; left
    # as it is: the creditor's name and phone (rapport.web.inbound)
    sms_help_contact: str = "Questions about your account? Call us on the number on your bill."

    # Worker Versioning: each worker is a version of this deployment (docs/operating.md)
    deployment_name: str = "rapport"
    build_id: str | None = None  # default: derived from the journey's code
    # Prometheus metrics at /metrics on every interface: the worker's and `journey web`'s
    # ports (off when unset)
    metrics_port: int | None = None
    web_metrics_port: int | None = None

    # worker tuning; the defaults suit a 2-core machine
    worker_max_cached_workflows: int = 1000
    worker_max_concurrent_activities: int = 50
    worker_max_concurrent_workflow_tasks: int = 10
    worker_graceful_shutdown_seconds: float = 30.0

    # Temporal Cloud or another hosted cluster
    temporal_tls: bool = Field(
        False, validation_alias=AliasChoices("TEMPORAL_TLS", "RAPPORT_TEMPORAL_TLS")
    )
    temporal_api_key: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TEMPORAL_API_KEY", "RAPPORT_TEMPORAL_API_KEY")
    )
    temporal_tls_cert: Path | None = Field(
        None,
        validation_alias=AliasChoices("TEMPORAL_TLS_CLIENT_CERT_PATH", "RAPPORT_TEMPORAL_TLS_CERT"),
    )
    temporal_tls_key: Path | None = Field(
        None,
        validation_alias=AliasChoices("TEMPORAL_TLS_CLIENT_KEY_PATH", "RAPPORT_TEMPORAL_TLS_KEY"),
    )
    dev_ui_port: int = 8233

    inbound_public_url: str | None = None  # what Twilio calls (default: the portal URL)

    # the web app: Host names it answers beside RAPPORT_PORTAL_URL's (and loopback's),
    # comma-separated; the proxies whose X-Forwarded-For and -Proto it believes (uvicorn's
    # forwarded_allow_ips: addresses or networks, comma-separated, `*` for any)
    allowed_hosts: str = ""
    forwarded_allow_ips: str = "127.0.0.1"

    def store_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'rapport.db'}"

    def payment_api(self) -> str:
        if self.payment_api_url:
            return self.payment_api_url
        if self.payment_provider == "stripe":
            return "https://api.stripe.com"
        return f"{self.portal_url.rstrip('/')}/dev-provider"

    def payment_pages(self) -> str:
        """The origin of the provider's hosted pages: Stripe Checkout's, the dev
        stand-in's (the web app itself), or RAPPORT_PAYMENT_PAGE_URL's."""
        if self.payment_page_url:
            return origin(self.payment_page_url)
        if self.payment_provider == "stripe":
            return "https://checkout.stripe.com"
        return origin(self.portal_url)

    def creditor(self) -> Creditor:
        """The creditor's contact details; BadContact naming a setting that is wrong
        (`problems()` lists it before anything starts)."""
        return creditor(
            self.creditor_name,
            self.creditor_phone,
            self.creditor_hours,
            self.creditor_timezone,
            self.creditor_email,
        )

    def signer(self) -> LinkSigner:
        return LinkSigner(self.link_secret.get_secret_value())

    def adapter_for(self, channel: str) -> Adapter:
        adapter: Adapter = getattr(self, f"channel_{channel}")
        return adapter

    def secret(self, name: str) -> str | None:
        value = getattr(self, name)
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    @property
    def dev_key_file(self) -> Path:
        """Where `make run` keeps the development encryption key (mode 0600)."""
        return self.data_dir / "dev-encryption.keys"

    def key_ring(self) -> KeyRing | None:
        """RAPPORT_ENCRYPTION_KEYS, else the development key file when there is one, else
        None (payloads are written in plain text)."""
        if self.encryption_keys is not None:
            return KeyRing.parse(self.encryption_keys.get_secret_value())
        if self.dev_key_file.exists():
            return KeyRing.parse(self.dev_key_file.read_text())
        return None

    def address_sealer(self) -> FieldSealer | None:
        """What seals the addresses the store's links keep (the key ring's first key);
        None without keys: the links then keep no address."""
        ring = self.key_ring()
        return FieldSealer(ring, "links.address") if ring else None

    def problems(self) -> list[str]:
        """What the chosen providers need and do not have, one line each."""
        found = []
        try:
            self.key_ring()
        except KeyProblem as problem:
            found.append(str(problem))
        found += contact_problems(self.creditor_phone, self.creditor_hours, self.creditor_timezone)
        for channel in ROUTED:
            adapter = self.adapter_for(channel)
            if channel not in _serves(adapter):
                able = [name for name in PROVIDERS if channel in _serves(name)]
                found.append(
                    f"RAPPORT_CHANNEL_{channel.upper()}={adapter}: {adapter} cannot "
                    f"deliver {channel}; use one of {', '.join(able)}"
                )
                continue
            missing = [
                f"RAPPORT_{name.upper()}"
                for name in PROVIDERS[adapter].NEEDS
                if getattr(self, name) in (None, "")
            ]
            if missing:
                found.append(
                    f"RAPPORT_CHANNEL_{channel.upper()}={adapter} needs " + ", ".join(missing)
                )
        if self.payment_provider == "stripe":  # a real provider: never the public defaults
            found += [
                line
                for check in (_PAYMENT_API_KEY, _PAYMENT_WEBHOOK_SECRET)
                if (line := check(self)) is not None
            ]
        if (
            self.link_secret.get_secret_value() == DEV_LINK_SECRET
            and self.uses_real_channels()
            and self.environment == "development"  # production refuses it anyway
        ):
            found.append(
                "RAPPORT_LINK_SECRET is the development secret; set your own before "
                "sending real messages"
            )
        return sorted(set(found))

    def uses_real_channels(self) -> bool:
        return any(self.adapter_for(c) != "outbox" for c in ROUTED)


class BadSettings(ValueError):
    """Settings the environment gives that cannot be read: one line per setting, naming
    it and what it takes (never its value: it may be a secret)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("; ".join(lines))
        self.lines = lines


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise BadSettings([_unreadable(error) for error in exc.errors()]) from None


def _unreadable(error: Any) -> str:
    field = str(error["loc"][0]) if error["loc"] else "?"
    name = field if field.isupper() else f"RAPPORT_{field.upper()}"  # aliases: as named
    return f"{name}: {error['msg'][0].lower()}{error['msg'][1:]}"


def origin(url: str) -> str:
    """`https://host:port` of a URL ("" when it has none)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


# --- what production refuses ------------------------------------------------------------
# One function per rule: the problem, in one line naming the setting, or None.


def _real_payment_provider(s: Settings) -> str | None:
    if s.payment_provider == "dev":
        return (
            "RAPPORT_PAYMENT_PROVIDER=dev: the stand-in provider marks anything paid; "
            "set stripe (docs/payments.md)"
        )
    return None


def _own_secret(setting: str, development_default: str) -> Callable[[Settings], str | None]:
    def check(s: Settings) -> str | None:
        value = s.secret(setting.lower())
        if not value or value == development_default:
            return f"RAPPORT_{setting} is missing or the public development default"
        return None

    check.__name__ = f"_{setting.lower()}_is_set"
    return check


def _encryption_keys(s: Settings) -> str | None:
    if s.encryption_keys is None:
        return (
            "RAPPORT_ENCRYPTION_KEYS is not set: customer data would reach Temporal in "
            "plain text (journey keys new makes a key)"
        )
    return None


def _codec_token(s: Settings) -> str | None:
    """The codec endpoints decrypt customer data for whoever may call them: beyond this
    machine, only an operator with the token (rapport.web.codec)."""
    host = urlsplit(s.portal_url).hostname or ""
    if s.codec_token is None and host not in LOOPBACK:
        return (
            f"RAPPORT_CODEC_TOKEN is not set: {s.portal_url.rstrip('/')}/codec would decrypt "
            "customer data for anyone who reaches it; set a token and give it to the "
            "Temporal UI"
        )
    return None


def _portal_url(s: Settings) -> str | None:
    """Every link in a message, and the provider's return URLs, start here; the links
    carry the customers' tokens."""
    parts = urlsplit(s.portal_url)
    if s.portal_url.rstrip("/") == DEV_PORTAL_URL:
        return (
            f"RAPPORT_PORTAL_URL is not set: the links in messages would lead to "
            f"{DEV_PORTAL_URL}, on the customer's own phone"
        )
    if parts.scheme != "https" and (parts.hostname or "") not in LOOPBACK:
        return (
            f"RAPPORT_PORTAL_URL={s.portal_url}: the links in messages carry customers' "
            "tokens; use https"
        )
    return None


def _creditor_name(s: Settings) -> str | None:
    if s.creditor_name == DEMO_CREDITOR:
        return (
            f"RAPPORT_CREDITOR_NAME is the demo's ({DEMO_CREDITOR}): customers would see "
            "it on the portal"
        )
    return None


def _creditor_phone(s: Settings) -> str | None:
    """Customers call the number the portal gives them (the lock page, every page after
    the identity check)."""
    if s.creditor_phone.strip() == DEMO_PHONE:
        return (
            f"RAPPORT_CREDITOR_PHONE is the demo's ({DEMO_PHONE}): customers would call it "
            "from the portal"
        )
    return None


_PAYMENT_API_KEY = _own_secret("PAYMENT_API_KEY", DEV_PAYMENT_API_KEY)
_PAYMENT_WEBHOOK_SECRET = _own_secret("PAYMENT_WEBHOOK_SECRET", DEV_PAYMENT_WEBHOOK_SECRET)
PRODUCTION_CHECKS: list[Callable[[Settings], str | None]] = [
    _real_payment_provider,
    _own_secret("LINK_SECRET", DEV_LINK_SECRET),
    _PAYMENT_API_KEY,
    _PAYMENT_WEBHOOK_SECRET,
    _encryption_keys,
    _portal_url,
    _creditor_name,
    _creditor_phone,
    _codec_token,
]


def startup_problems(settings: Settings) -> list[str]:
    """Why `worker.py` or `journey web` must not start: what the chosen providers lack
    (any environment) and, in production, every development default; one line each."""
    found = settings.problems()
    if settings.environment == "production":
        found += [p for check in PRODUCTION_CHECKS if (p := check(settings)) is not None]
    return list(dict.fromkeys(found))


def refuse_to_start_unless_fit(settings: Settings) -> None:
    """Exit 2, printing one line per problem and nothing else, if there is any."""
    refuse_to_start(startup_problems(settings))


def refuse_to_start(problems: list[str]) -> None:
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        raise SystemExit(2)
