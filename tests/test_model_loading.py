"""Every table is mapped before the first engine exists, in a process that imported few."""

from __future__ import annotations

import subprocess
import sys

# A bare process (like `hounsfield dicom`): the AI models are imported lazily elsewhere, and a
# thread that built a query while another thread was half-way through importing them failed
# for the life of the process (a PostgreSQL fresh-clone run: "AiModelVersion is not defined").
PROBE = """
import sys
from hounsfield.db import Base, get_engine
assert "hounsfield.ai.models" not in sys.modules
get_engine()
assert "hounsfield.ai.models" in sys.modules
mappers = list(Base.registry.mappers)
assert len(mappers) > 30, len(mappers)
assert all(m.configured for m in mappers), [m for m in mappers if not m.configured]
print("mapped", len(mappers))
"""


def test_the_first_engine_maps_every_table() -> None:
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                           timeout=120)  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.startswith("mapped")
