"""Settings from the environment: `RAPPORT_*`, plus the contract's Temporal names."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_LINK_SECRET = "dev-only-link-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAPPORT_", extra="ignore")

    temporal_address: str = Field(
        "localhost:7233",
        validation_alias=AliasChoices("TEMPORAL_ADDRESS", "RAPPORT_TEMPORAL_ADDRESS"))
    temporal_namespace: str = Field(
        "default",
        validation_alias=AliasChoices("TEMPORAL_NAMESPACE", "RAPPORT_TEMPORAL_NAMESPACE"))
    task_queue: str = Field(
        "collections", validation_alias=AliasChoices("JOURNEY_TASK_QUEUE", "RAPPORT_TASK_QUEUE"))
    journeys_dir: Path = Path("journeys")
    outbox_path: Path = Path("data/outbox.jsonl")
    link_base_url: str = "https://pay.example.com/r"
    link_secret: str = DEV_LINK_SECRET


def load_settings() -> Settings:
    return Settings()
