"""Settings, read from HOUNSFIELD_* environment variables (nested: HOUNSFIELD_DICOM__PORT).

docs/configuration.md documents every field; a test keeps the two in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


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


class DicomSettings(BaseModel):
    """The DICOM (DIMSE) listener and SCU; see docs/dicom-conformance.md."""

    ae_title: str = Field("HOUNSFIELD", min_length=1, max_length=16, description="Our AE title.")
    host: str = Field("127.0.0.1", description="Bind address of the DIMSE listener.")
    port: int = Field(11112, ge=1, le=65535, description="DIMSE listening port.")
    enabled: bool = Field(
        True, description="Start the listener inside `hounsfield serve` (embedded mode)."
    )
    allow_unknown_store: bool | None = Field(
        None,
        description="Accept C-STORE from unregistered AEs; default true in embedded mode, "
        "always false in production.",
    )
    max_associations: int = Field(20, ge=1, description="Concurrent associations accepted.")
    max_pdu: int = Field(262144, ge=0, description="Maximum PDU size we receive (0: no limit).")
    network_timeout_s: float = Field(60, gt=0, description="Idle timeout of an association.")
    shutdown_grace_s: float = Field(
        30, ge=0, description="On shutdown, how long in-flight associations may finish."
    )
    tls_cert: Path | None = Field(None, description="PEM certificate: enables DICOM TLS.")
    tls_key: Path | None = Field(None, description="PEM private key of `tls_cert`.")
    tls_ca: Path | None = Field(
        None, description="PEM CA bundle: peers must present a certificate it signed."
    )
    listeners: int = Field(
        1, ge=1, le=32, description="Listener processes sharing the port (SO_REUSEPORT)."
    )
    find_max_results: int = Field(
        1000, ge=1, description="C-FIND matches answered at most; more end with a Cancel status."
    )


class StorageSettings(BaseModel):
    """Where DICOM objects are kept: a local directory or an S3 bucket."""

    backend: Literal["local", "s3"] = Field("local", description="`local` or `s3`.")
    local_root: Path | None = Field(
        None, description="Directory of the local backend; default `<data_dir>/storage`."
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3 endpoint (MinIO, Ceph, ...); AWS's if unset."
    )
    s3_bucket: str = Field("hounsfield", description="S3 bucket holding the objects.")
    s3_region: str = Field("us-east-1", description="S3 region.")
    s3_access_key_id: SecretStr | None = Field(None, description="S3 access key id.")
    s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret access key.")
    s3_prefix: str = Field("", description="Key prefix inside the bucket (e.g. `dicom/`).")
    s3_max_attempts: int = Field(4, ge=1, le=10, description="Attempts per S3 request.")
    s3_timeout_s: float = Field(30, gt=0, description="Connect and read timeout of S3 calls.")


class IngestSettings(BaseModel):
    """Limits and policies of the one ingest path (DIMSE, STOW-RS, uploads)."""

    duplicate_policy: Literal["reject", "overwrite"] = Field(
        "reject",
        description="Same SOP Instance UID with other bytes: `reject` (keep the first, "
        "conflict) or `overwrite` (replace, audited).",
    )
    max_upload_bytes: int = Field(
        3 * 1024**3,
        ge=1024,
        description="Largest request body of POST /api/uploads (413); larger files go by tus.",
    )
    max_pixel_bytes: int = Field(
        4 * 1024**3,
        ge=1,
        description="Largest Rows × Columns × Samples × Frames × BitsAllocated/8 accepted.",
    )
    max_inflated_bytes: int = Field(
        256 * 1024**2, ge=1, description="Largest inflated size of a deflated dataset."
    )
    max_inflate_ratio: int = Field(
        100, ge=2, description="Largest inflate ratio of a deflated dataset or a zip member."
    )
    upload_max_parts: int = Field(
        5000,
        ge=1,
        description="Most parts (files) in one POST /api/uploads request; more is 413. Like "
        "STOW-RS's cap: each part costs a file and an ingest, however small.",
    )
    zip_max_entries: int = Field(20000, ge=1, description="Most members of an uploaded zip.")
    zip_max_total_bytes: int = Field(
        16 * 1024**3, ge=1, description="Largest total inflated size of an uploaded zip."
    )
    tus_max_bytes: int = Field(16 * 1024**3, ge=1, description="Largest resumable (tus) upload.")
    tus_max_uploads_per_user: int = Field(
        20, ge=1, description="Unfinished resumable uploads one user may have at once (429)."
    )
    tus_max_outstanding_bytes_per_user: int = Field(
        32 * 1024**3,
        ge=1,
        description="Total declared length of one user's unfinished resumable uploads (429).",
    )
    tus_expire_hours: int = Field(
        24, ge=1, description="Unfinished resumable uploads idle this long are purged."
    )


class HttpSettings(BaseModel):
    """The HTTP edge: slow-client deadlines, connection cap, rate limits, exposed docs."""

    header_timeout_s: float = Field(
        10, gt=0, description="A request's line and headers must arrive within this (408)."
    )
    body_timeout_s: float = Field(
        60, gt=0, description="Longest pause between two pieces of a request body."
    )
    keep_alive_s: int = Field(5, ge=1, description="Idle keep-alive connections close after.")
    max_connections: int = Field(
        1000, ge=1, description="Open connections and requests at once; more are answered 503."
    )
    rate_limit_per_minute: int = Field(
        6000,
        ge=0,
        description="Requests a user may make to /api and /dicom-web per minute (429 with "
        "Retry-After beyond); 0 disables. Kept in Redis when configured.",
    )
    anonymous_rate_limit_per_minute: int = Field(
        600,
        ge=0,
        description="The same for requests without a valid token, per client address.",
    )
    expose_docs: bool | None = Field(
        None,
        description="Serve /docs and /openapi.json without a token; default true in embedded "
        "mode, false (not served) in production.",
    )
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token Prometheus presents for /metrics; required for /metrics in "
        "production (not served without it), /metrics is open in embedded mode.",
    )


class DicomwebSettings(BaseModel):
    """DICOMweb (QIDO-RS, WADO-RS, STOW-RS) limits and derived-data caches."""

    qido_default_limit: int = Field(
        100, ge=1, description="QIDO-RS matches returned when the request gives no `limit`."
    )
    qido_max_limit: int = Field(1000, ge=1, description="Largest QIDO-RS `limit` honoured.")
    stow_max_bytes: int = Field(
        8 * 1024**3, ge=1, description="Largest STOW-RS request body (bytes); larger is 413."
    )
    stow_max_part_bytes: int = Field(
        4 * 1024**3, ge=1, description="Largest single instance in a STOW-RS request (bytes)."
    )
    stow_max_parts: int = Field(
        5000, ge=1, description="Most parts (instances) in one STOW-RS request; more is 413."
    )
    stow_max_concurrent: int = Field(
        8,
        ge=1,
        description="STOW-RS requests one API process receives at once; more are answered "
        "503 with Retry-After.",
    )
    thumbnail_size: int = Field(128, ge=16, le=1024, description="Thumbnail bounding box (px).")
    object_cache_mb: int = Field(
        128,
        ge=0,
        description="Per process, MiB of recently read, verified objects kept in memory "
        "(frames of a multi-frame object, series read again); 0 disables.",
    )
    verify_in_memory_bytes: int = Field(
        64 * 1024**2,
        ge=0,
        description="Objects up to this size are read once and checked against their SHA-256 "
        "before sending; larger ones are checked in a first pass, then streamed.",
    )


class WorklistSettings(BaseModel):
    """The reading worklist."""

    claim_minutes: int = Field(
        30, ge=1, le=24 * 60,
        description="How long a reader's claim on a study lasts (renewed by claiming again).",
    )  # fmt: skip
    timezone: str = Field(
        "Asia/Shanghai",
        description="The hospital's time zone (IANA name): Modality Worklist dates and times, "
        "and study dates when arriving studies are matched to orders.",
    )


class Hl7Settings(BaseModel):
    """HL7 v2 over MLLP from the hospital information system (patients and orders)."""

    port: int | None = Field(
        None, ge=1, le=65535,
        description="MLLP listening port; unset: no listener inside `serve` (embedded mode). "
        "`hounsfield hl7` runs one on its own (port 2575 when unset).",
    )  # fmt: skip
    host: str = Field("127.0.0.1", description="Bind address of the MLLP listener.")
    allowed_peers: list[str] = Field(
        ["127.0.0.1/32", "::1/128"],
        description="Networks (CIDR) allowed to connect: MLLP has no authentication, so "
        "only the hospital system's addresses belong here.",
    )
    encoding: str = Field(
        "utf-8", description="Character encoding of received messages (e.g. `gb18030`)."
    )
    max_message_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest message accepted; a larger frame is refused."
    )
    timeout_s: float = Field(60, gt=0, description="Idle timeout of an MLLP connection.")


class AuditSettings(BaseModel):
    """The audit trail: sealing, and the export to an ATNA syslog collector (PS3.15 A.5)."""

    seal_interval_s: float = Field(
        0.5,
        gt=0,
        description="How often the sealer writes journalled access events into the table and "
        "chains new rows (they are durable in the journal before that).",
    )
    syslog_host: str | None = Field(
        None,
        description="ATNA audit record repository (syslog collector) that receives every "
        "sealed event as a DICOM PS3.15 A.5 message (RFC 5424 over TLS, RFC 5425); unset: "
        "no export. Events wait in the audit table while it is unreachable.",
    )
    syslog_port: int = Field(6514, ge=1, le=65535, description="Collector port (6514: syslog-TLS).")
    syslog_tls: bool = Field(
        True, description="TLS 1.2+ to the collector; false only for a collector on loopback."
    )
    syslog_ca: Path | None = Field(
        None, description="PEM CA bundle that signs the collector's certificate (default: system)."
    )
    syslog_cert: Path | None = Field(
        None, description="PEM client certificate for mutual TLS (ATNA secure node)."
    )
    syslog_key: Path | None = Field(None, description="PEM key of `syslog_cert`.")
    syslog_interval_s: float = Field(
        1.0, gt=0, description="How often sealed events are forwarded to the collector."
    )
    syslog_timeout_s: float = Field(
        5.0, gt=0, description="Connect and send timeout towards the collector."
    )


class WorkerSettings(BaseModel):
    """Background tasks: the Celery broker's redelivery and the outbox's claims."""

    visibility_timeout_s: int = Field(
        3600,
        ge=1,
        description="A task a worker received but did not acknowledge (it died: tasks are "
        "acknowledged late) is delivered again after this long (Redis broker).",
    )
    claim_timeout_s: int = Field(
        600,
        ge=1,
        description="An outbox entry a worker took and has not finished is taken as "
        "abandoned after this long: a redelivered or re-sent task may then run it. At most "
        "`visibility_timeout_s`, so that a redelivery after a crash is not turned away.",
    )
    requeue_interval_s: float = Field(
        30.0,
        gt=0,
        description="How often each server process re-sends outbox entries that were never "
        "sent (the broker was down) or not finished within `claim_timeout_s`.",
    )

    @model_validator(mode="after")
    def _claims_expire_before_redelivery(self) -> Self:
        if self.claim_timeout_s > self.visibility_timeout_s:
            raise ValueError("claim_timeout_s must not exceed visibility_timeout_s")
        return self


class PatientSettings(BaseModel):
    encryption_keys: SecretStr | None = Field(
        None,
        description="AES-256-GCM keys of the national ID and phone at rest, as "
        "`id:base64key,...` (32-byte keys, the first encrypts, the others still decrypt). "
        "Required in production; embedded mode generates one under "
        "`<data_dir>/secrets/patient-keys/`. Rotation: docs/patients.md.",
    )
    hash_key: SecretStr | None = Field(
        None,
        description="Keys the HMAC that finds a patient by national ID or phone (32+ "
        "characters, not an encryption key). Required in production; embedded mode generates "
        "`<data_dir>/secrets/patient-hash.key`.",
    )


class ReportSettings(BaseModel):
    """Diagnostic reports: review and signature."""

    require_second_reader: bool = Field(
        False,
        description="When true, the doctor who approves (signs) a report must not be its author "
        "(resident writes, attending approves).",
    )
    signing_key: SecretStr | None = Field(
        None,
        description="Seed of the Ed25519 key that signs approved reports (32+ random "
        "characters). Required in production; embedded mode generates "
        "`<data_dir>/secrets/report-signing.key`. Old public keys stay in the database, so "
        "reports signed before a rotation still verify.",
    )
    hospital_name: str = Field(
        "Hounsfield", max_length=128, description="Hospital name printed at the top of PDF reports."
    )
    critical_ack_minutes: int = Field(
        15, ge=1, le=1440,
        description="Minutes a contact has to acknowledge a critical result (危急值) before "
        "the next contact is notified.",
    )  # fmt: skip
    logo_path: Path | None = Field(
        None, description="Optional image (PNG/SVG) printed beside the hospital name in PDFs."
    )
    peer_review_rate: float = Field(
        0.05, ge=0, le=1,
        description="Share of approved reports sampled at random for peer review (RADPEER), "
        "each assigned to another doctor who approves reports: 0 none, 1 every report.",
    )  # fmt: skip


class NotificationSettings(BaseModel):
    """Channels of notifications (in-app is always on); a channel without its settings is off."""

    locale: Literal["zh-CN", "en"] = Field(
        "zh-CN", description="Language of the email, SMS, push and robot texts."
    )
    timeout_s: float = Field(10, gt=0, description="Timeout of one delivery attempt.")
    smtp_host: str | None = Field(None, description="SMTP server; unset: no email.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (587 STARTTLS, 465 TLS).")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="`starttls`, `tls` (implicit, port 465) or `none` (loopback relays only).",
    )
    smtp_username: str | None = Field(None, description="SMTP login; unset: no AUTH.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_from: str = Field("hounsfield@localhost", description="Sender address of emails.")
    smtp_ca_file: Path | None = Field(
        None,
        description="PEM CA bundle that signs the SMTP server's certificate (default: system).",
    )
    sms_url: str | None = Field(
        None, description="SMS gateway endpoint (Aliyun/Tencent-shaped JSON POST); unset: no SMS."
    )
    sms_sign_name: str = Field("", description="SMS signature (短信签名) the gateway registered.")
    sms_template_id: str = Field("", description="SMS template id (模板 ID) with ${title}.")
    sms_access_key_id: str | None = Field(None, description="Gateway access key id.")
    sms_access_key_secret: SecretStr | None = Field(
        None, description="Gateway secret: signs each request body (HMAC-SHA256)."
    )
    vapid_subject: str | None = Field(
        None,
        description="Web Push contact (`mailto:` or https URL); unset: no push. The VAPID key "
        "is generated in `<data_dir>/secrets/vapid.pem`.",
    )
    dingtalk_webhook: str | None = Field(None, description="DingTalk robot webhook URL.")
    dingtalk_secret: SecretStr | None = Field(
        None, description="DingTalk robot signing secret (加签, timestamp + HMAC-SHA256)."
    )
    wecom_webhook: str | None = Field(None, description="WeCom (企业微信) robot webhook URL.")
    robot_kinds: list[str] = Field(
        default_factory=lambda: ["critical_result", "system_alert"],
        description="Kinds of notification the group-chat robots also receive.",
    )


class BackupSettings(BaseModel):
    """Scheduled backups (`hounsfield backup`, docs/operations.md)."""

    target: Path | None = Field(
        None,
        description="Directory the scheduled backup writes to (a mounted volume, another "
        "disk); unset: no scheduled backup. `hounsfield backup --output DIR` works without it.",
    )
    interval_hours: float = Field(
        24, gt=0, le=24 * 31, description="Hours between scheduled backups."
    )
    keep: int = Field(
        7, ge=1, le=1000,
        description="Snapshots kept by the scheduled backup; older ones are pruned, and "
        "objects no kept snapshot lists are removed from the target.",
    )  # fmt: skip
    encryption_key: SecretStr | None = Field(
        None,
        description="Secret (32+ random characters) the backup's AES-256-GCM key is derived "
        "from; required in production to back up or restore. Embedded mode generates "
        "`<data_dir>/secrets/backup.key`, which backups never contain: keep a copy apart "
        "from them, a restore needs it.",
    )


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
    secret_key: SecretStr | None = Field(
        None,
        description="Signs access tokens (32+ characters). Required in production; embedded "
        "mode generates one on first start in `<data_dir>/secrets/token.key` (mode 0600).",
    )
    deidentification_key: SecretStr | None = Field(
        None,
        description="Keys de-identification pseudonyms, UIDs and date shifts (32+ characters, "
        "not the secret key). Required in production; embedded mode generates "
        "`<data_dir>/secrets/deidentification.key`.",
    )
    api_key_secret: SecretStr | None = Field(
        None,
        description="Keys the stored hashes of API keys (32+ characters, neither of the two "
        "keys above: a leaked token key must not let a database dump be tested). Required in "
        "production; embedded mode generates `<data_dir>/secrets/api-key.key`. Changing it "
        "invalidates every API key.",
    )
    redis_url: str | None = Field(
        None, description="Redis for revocation, rate limits and tasks; in-process if unset."
    )
    log_level: str = Field("INFO", description="Root log level.")
    log_json: bool = Field(True, description="JSON logs (one object per line).")
    host: str = Field("127.0.0.1", description="HTTP bind address of `hounsfield serve`.")
    port: int = Field(8000, description="HTTP port of `hounsfield serve`.")
    api_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="API processes of `hounsfield serve`; 0: one per core, at most 4. In "
        "embedded mode each also runs a DICOM listener (SO_REUSEPORT) and background tasks; "
        "several share revocations, lockouts and rate limits through `<data_dir>/kv.sqlite3`.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Proxy IPs whose X-Forwarded-For is believed (e.g. the nginx address).",
    )
    public_base_url: str | None = Field(
        None,
        description="The server's URL as clients reach it (e.g. `https://pacs.example.org`): "
        "RetrieveURLs and BulkDataURIs are built from it. Unset: from the request's Host "
        "header, if that host is in `allowed_hosts`.",
    )
    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "::1"],
        description="Host names a request's Host header may carry when URLs are built from it "
        "(without `public_base_url`); others are refused (400). `*` allows any.",
    )
    web_dir: Path | None = Field(
        None,
        description="Built web workstation (Next.js export) served at `/`; default `web/out` "
        "of the source tree. Not served when the directory is missing.",
    )
    models_dir: Path | None = Field(
        None,
        description="Model files made at install time (`make models`: deepbet's two ONNX "
        "nets in `deepbet/`, exported from its TorchScript weights, with their SHA-256); "
        "default `var/models` of the source tree. Never downloaded at run time.",
    )
    auth: AuthSettings = AuthSettings()
    storage: StorageSettings = StorageSettings()
    ingest: IngestSettings = IngestSettings()
    dicom: DicomSettings = DicomSettings()
    dicomweb: DicomwebSettings = DicomwebSettings()
    audit: AuditSettings = AuditSettings()
    worklist: WorklistSettings = WorklistSettings()
    hl7: Hl7Settings = Hl7Settings()
    http: HttpSettings = HttpSettings()
    worker: WorkerSettings = WorkerSettings()
    notifications: NotificationSettings = NotificationSettings()
    patients: PatientSettings = PatientSettings()
    reports: ReportSettings = ReportSettings()
    backup: BackupSettings = BackupSettings()

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
        secret = self.secret_key.get_secret_value() if self.secret_key else ""
        key = self.deidentification_key
        pseudonym = key.get_secret_value() if key else ""
        if len(secret) < 32:
            problems.append("HOUNSFIELD_SECRET_KEY must be set to a random value of 32+ chars")
        if len(pseudonym) < 32 or pseudonym == secret:
            problems.append(
                "HOUNSFIELD_DEIDENTIFICATION_KEY must be set to a random value of 32+ chars, "
                "other than the secret key"
            )
        api = self.api_key_secret.get_secret_value() if self.api_key_secret else ""
        if len(api) < 32 or api in (secret, pseudonym):
            problems.append(
                "HOUNSFIELD_API_KEY_SECRET must be set to a random value of 32+ chars, "
                "other than the other two keys"
            )
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
