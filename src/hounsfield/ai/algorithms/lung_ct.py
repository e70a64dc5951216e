"""Lung segmentation on chest CT by HU thresholding and connected components, with the
emphysema index LAA%-950 (the percentage of lung voxels below -950 HU).

The method (a classical one, e.g. Hu, Hoffman & Reinhardt, IEEE TMI 2001, simplified):
1. Air-like voxels: below -320 HU.
2. Outside air: every air component that touches the border of a slice (the air around
   the body, and the table gap) is removed, slice by slice.
3. Lungs: of the remaining 3D components, the largest two (of at least 1 % of the largest)
   are kept; the trachea and main bronchi stay with them (no airway separation).
4. Holes (vessels, nodules) in each slice are filled, so they count as lung tissue.
5. LAA%-950 = 100 × (lung voxels < -950 HU) / (lung voxels).

Its limits: it needs the whole chest in the field of view, standard (not sharp) kernels
and no contrast issues; it is decision support, not a diagnosis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from hounsfield.ai.errors import NoImages
from hounsfield.ai.runtime import (
    FindingDraft,
    MaskResult,
    Result,
    SourceImage,
    sort_by_position,
    volume,
)
from hounsfield.ai.schemas import Manifest

AIR_HU = -320.0
EMPHYSEMA_HU = -950.0
MIN_FRACTION_OF_LARGEST = 0.01


def lung_mask(hu: NDArray[np.float64]) -> NDArray[np.bool_]:
    """The lung voxels of a (slices, rows, cols) volume in Hounsfield units."""
    air = hu < AIR_HU
    inside = np.zeros_like(air)
    for z in range(air.shape[0]):
        labels, _count = ndimage.label(air[z])
        border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
        inside[z] = air[z] & ~np.isin(labels, border)
    labels, count = ndimage.label(inside)
    if count == 0:
        return inside
    sizes = np.bincount(labels.ravel())[1:]
    order = np.argsort(sizes)[::-1][:2]
    keep = [i + 1 for i in order if sizes[i] >= MIN_FRACTION_OF_LARGEST * sizes[order[0]]]
    lungs = np.isin(labels, keep)
    for z in range(lungs.shape[0]):
        lungs[z] = ndimage.binary_fill_holes(lungs[z])
    return lungs


def voxel_ml(images: Sequence[SourceImage]) -> float | None:
    """One voxel's volume in millilitres, from Pixel Spacing and the slice distance."""
    try:
        rows, cols = (float(v) for v in images[0].dataset.PixelSpacing)
        thickness = float(
            images[0].dataset.get("SpacingBetweenSlices") or images[0].dataset.SliceThickness
        )
    except (AttributeError, TypeError, ValueError):
        return None
    return rows * cols * thickness / 1000.0


def analyse(manifest: Manifest, images: Sequence[SourceImage]) -> Result:
    """Segment the lungs of a CT series and measure LAA%-950 within them."""
    ordered = sort_by_position(images)
    hu = volume(ordered)
    lungs = lung_mask(hu)
    voxels = int(lungs.sum())
    if voxels == 0:
        raise NoImages(problem="no lung found: is this a chest CT?")
    low = int((lungs & (hu < EMPHYSEMA_HU)).sum())
    measurements = {"laa950_percent": round(100.0 * low / voxels, 2), "lung_voxels": float(voxels)}
    ml = voxel_ml(ordered)
    if ml is not None:
        measurements["lung_volume_ml"] = round(voxels * ml, 1)
    per_slice = lungs.reshape(lungs.shape[0], -1).sum(axis=1)
    best = int(np.argmax(per_slice))
    rows, cols = np.nonzero(lungs[best])
    label = manifest.labels[0].name
    finding = FindingDraft(
        label=label, probability=1.0,
        sop_instance_uid=ordered[best].sop_instance_uid, frame=ordered[best].frame,
        geometry={"bbox": [float(cols.min()), float(rows.min()), float(cols.max() + 1),
                           float(rows.max() + 1)], "mask": "seg", "pixels": voxels},
        measurements=measurements,
    )  # fmt: skip
    return Result([finding], MaskResult(list(ordered), {label: lungs}), len(ordered))
