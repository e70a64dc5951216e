"""Settings, read from HOUNSFIELD_* environment variables (nested: HOUNSFIELD_DICOM__PORT).

docs/configuration.md documents every field; a test keeps the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-insecure-secret-change-me"


class AuthSettings(BaseModel):
    access_token_minutes: int = Field(15, ge=1, le=15, description="Lifetime of an access JWT.")
    refresh_token_hours: int = Field(
        12, ge=1, le=24 * 30, description="Absolute lifetime of a refresh-token family."
    )
    refresh_idle_minutes: int = Field(
        15, ge=1, description="Idle log-off: a refresh token unused this long expires."
    )
    issuer: str = Field("hounsfield", description="JWT `iss` claim.")
    audience: str = Field("hounsfield-api", description="JWT `aud` claim.")
    max_failed_logins: int = Field(5, ge=1, description="Failures before an account locks.")
    lockout_minutes: int = Field(15, ge=1, description="How long a locked account stays locked.")
    ip_max_failed_logins: int = Field(
        20, ge=1, description="Failed logins from one IP address before it is throttled (429)."
    )
    ip_window_minutes: int = Field(15, ge=1, description="Window of the per-IP failure count.")
    cookie_secure: bool = Field(
        False, description="Mark the refresh cookie Secure (required in production)."
    )
    password_min_length: int = Field(10, ge=8, description="Minimum password length.")


class Settings(BaseSettings):
    """Every setting of Hounsfield; see docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="HOUNSFIELD_", env_nested_delimiter="__", extra="ignore"
    )

    mode: Literal["embedded", "production"] = Field(
        "embedded", description="`embedded` (one process, SQLite) or `production`."
    )
    data_dir: Path = Field(Path("var"), description="Directory holding all local state.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file `<data_dir>/hounsfield.db`."
    )
    secret_key: SecretStr = Field(
        SecretStr(DEV_SECRET), description="Signs access tokens. Required in production."
    )
    redis_url: str | None = Field(
        None, description="Redis for revocation, rate limits and tasks; in-process if unset."
    )
    log_level: str = Field("INFO", description="Root log level.")
    log_json: bool = Field(True, description="JSON logs (one object per line).")
    host: str = Field("127.0.0.1", description="HTTP bind address of `hounsfield serve`.")
    port: int = Field(8000, description="HTTP port of `hounsfield serve`.")
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Proxy IPs whose X-Forwarded-For is believed (e.g. the nginx address).",
    )
    auth: AuthSettings = AuthSettings()

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'hounsfield.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    @model_validator(mode="after")
    def _production_is_hardened(self) -> Self:
        if self.mode != "production":
            return self
        problems = []
        secret = self.secret_key.get_secret_value()
        if secret == DEV_SECRET or len(secret) < 32:
            problems.append("HOUNSFIELD_SECRET_KEY must be set to a random value of 32+ chars")
        if self.is_sqlite:
            problems.append("HOUNSFIELD_DATABASE_URL must name MySQL/MariaDB or PostgreSQL")
        if not self.auth.cookie_secure:
            problems.append("HOUNSFIELD_AUTH__COOKIE_SECURE must be true (HTTPS only)")
        if problems:
            raise ValueError("production mode refuses to start: " + "; ".join(problems))
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (tests clear the cache after changing the environment)."""
    return Settings()
