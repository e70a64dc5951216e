"""Write the fuzz corpus's seed files: small valid instances of several kinds."""

from __future__ import annotations

import sys
from pathlib import Path

from pydicom.uid import DeflatedExplicitVRLittleEndian, ImplicitVRLittleEndian

from tests.dicom_factory import make_dataset, to_bytes


def main(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    seeds = {
        "ct.dcm": make_dataset(Rows=4, Columns=4),
        "chinese.dcm": make_dataset(Rows=2, Columns=2, PatientName="Zhang^Wei=张^伟"),
        "implicit.dcm": make_dataset(Rows=2, Columns=2, transfer_syntax=ImplicitVRLittleEndian),
        "deflated.dcm": make_dataset(
            Rows=2, Columns=2, transfer_syntax=DeflatedExplicitVRLittleEndian
        ),
        "multiframe.dcm": make_dataset(Rows=2, Columns=2, NumberOfFrames=3),
    }
    for name, ds in seeds.items():
        (directory / name).write_bytes(to_bytes(ds))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
