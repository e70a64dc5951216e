"""Render docs/configuration.md from the Settings model, so the two never drift apart."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from hounsfield.config import Settings

HEADER = """# Configuration

Every setting is an environment variable (`HOUNSFIELD_<NAME>`; nested sections use a double
underscore: `HOUNSFIELD_AUTH__LOCKOUT_MINUTES`). Lists are JSON (`["10.0.0.5"]`). This page
is generated from `src/hounsfield/config.py` by `make docs`; a test keeps them in step.

In **production** mode (`HOUNSFIELD_MODE=production`) the server refuses to start with the
default or a short secret key, with SQLite, without Secure cookies, or while demo accounts
exist.

| variable | default | description |
|---|---|---|
"""


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    else:
        value = field.default
    if isinstance(value, SecretStr):
        return "*(development value)*"
    if value is None:
        return "*(unset)*"
    if isinstance(value, bool):
        return str(value).lower()
    return f"`{value}`"


def _rows(model: type[BaseModel], prefix: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows.extend(_rows(annotation, f"{prefix}{name.upper()}__"))
            continue
        variable = f"{prefix}{name.upper()}"
        rows.append(f"| `{variable}` | {_default(field)} | {field.description or ''} |")
    return rows


def render() -> str:
    return HEADER + "\n".join(_rows(Settings, "HOUNSFIELD_")) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render())
