#!/usr/bin/python3
"""False positives on lesion-free patients (issue 12): for each lesion-free case of a prediction folder, the 3-D
connected components of the predicted mask (26-connectivity), their volume in mL, and their distance to bone
(HU > --bone-hu in the input image): the in-plane distance in mm from the component's nearest voxel to bone.
Usage: /usr/bin/python3 scripts/false-positives.py COHORT_DIR PRED_MODE_DIR [--bone-hu 100] [--near-mm 5] [--json OUT]
Ends with a summary: cases left empty, false-positive mL per case, component sizes and the share of the false-positive
volume within --near-mm of bone; --json writes the cases' components and that summary.
(Debian's python3 with numpy and scipy; reads the NIfTI-1 files the portal and sdpm write.)"""
import csv
import json
import gzip
import os
import struct
import sys

import numpy as np
from scipy import ndimage

DTYPES = {2: np.uint8, 4: np.int16, 8: np.int32, 16: np.float32, 64: np.float64, 256: np.int8, 512: np.uint16}


def read_nifti(path):
    raw = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    endian = "<" if struct.unpack("<i", raw[:4])[0] == 348 else ">"
    dims = struct.unpack(endian + "8h", raw[40:56])
    datatype = struct.unpack(endian + "h", raw[70:72])[0]
    pixdim = struct.unpack(endian + "8f", raw[76:108])
    offset = int(struct.unpack(endian + "f", raw[108:112])[0])
    slope, inter = struct.unpack(endian + "2f", raw[112:120])
    shape = dims[1:1 + dims[0]]
    data = np.frombuffer(raw, dtype=np.dtype(DTYPES[datatype]).newbyteorder(endian), count=int(np.prod(shape)), offset=offset)
    data = data.reshape(shape[::-1]).astype(np.float64)  # z, y, x
    if slope not in (0.0, 1.0) or inter != 0.0:
        data = data * (slope if slope != 0 else 1) + inter
    return data, pixdim[1:4]


def main():
    cohort, pred = sys.argv[1], sys.argv[2]
    def opt(name, default):
        return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default
    bone_hu = float(opt("--bone-hu", 100.0))
    near_mm = float(opt("--near-mm", 5.0))
    json_out = opt("--json", None)
    cases = []
    rows = list(csv.DictReader(open(os.path.join(cohort, "manifest.csv"))))
    print(f"{'case':10} {'components':>10} {'total mL':>9}  components (mL @ mm to bone)")
    empty = free = 0
    for r in rows:
        if r["lesion_type"] != "none":
            continue
        path = next((os.path.join(pred, r["case_id"] + ext) for ext in (".nii.gz", ".nii") if os.path.exists(os.path.join(pred, r["case_id"] + ext))), None)
        if path is None:
            continue
        free += 1
        mask, spacing = read_nifti(path)
        image, _ = read_nifti(os.path.join(cohort, r["image"]))
        voxel_ml = spacing[0] * spacing[1] * spacing[2] / 1000
        labels, n = ndimage.label(mask > 0.5, structure=np.ones((3, 3, 3)))
        if n == 0:
            empty += 1
            cases.append({"case": r["case_id"], "components": []})
            print(f"{r['case_id']:10} {0:>10} {0:>9.2f}")
            continue
        # In-plane distance (mm) of every voxel to the nearest bone voxel of its slice.
        dist = np.stack([ndimage.distance_transform_edt(~(s > bone_hu), sampling=(spacing[1], spacing[0])) if (s > bone_hu).any()
                         else np.full(s.shape, np.inf) for s in image])
        parts = []
        for k in range(1, n + 1):
            sel = labels == k
            parts.append((sel.sum() * voxel_ml, dist[sel].min()))
        parts.sort(reverse=True)
        cases.append({"case": r["case_id"], "components": [{"ml": float(v), "mm_to_bone": float(d)} for v, d in parts]})
        print(f"{r['case_id']:10} {n:>10} {sum(p[0] for p in parts):>9.2f}  " + ", ".join(f"{v:.2f}@{d:.1f}" for v, d in parts[:8]))
    print(f"lesion-free cases predicted empty: {empty} of {free}")
    comps = [c for case in cases for c in case["components"]]
    total = sum(c["ml"] for c in comps)
    near = sum(c["ml"] for c in comps if c["mm_to_bone"] <= near_mm)
    summary = {
        "lesion_free": free, "empty": empty,
        "fp_ml_per_case": total / free if free else None,
        "components": len(comps),
        "median_component_ml": float(np.median([c["ml"] for c in comps])) if comps else None,
        "largest_component_ml": max((c["ml"] for c in comps), default=None),
        "near_mm": near_mm, "share_near_bone": near / total if total > 0 else None,
        "bone_hu": bone_hu,
    }
    if comps:
        print(f"false positives: {total / free:.2f} mL a case, {len(comps)} components (median {summary['median_component_ml']:.3f} mL, "
              f"largest {summary['largest_component_ml']:.2f} mL), {100 * summary['share_near_bone']:.0f}% of their volume within "
              f"{near_mm:g} mm of bone (> {bone_hu:g} HU)")
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"summary": summary, "cases": cases}, f, indent=1)


main()
