#!/usr/bin/env python3
"""Writes fixture data for the viewer harness (nothing here is committed output).

    python3 make_fixture.py --out DIR [--size 512] [--slices 20]

DIR/case1/
    slices/{z}.raw   int16 little-endian HU, X*Y values, x fastest (the portal's slice contract)
    reference.rle    SRLE mask of the bright lesion (the portal's overlay contract)
    fixture.json     dims, spacing, origin and probe voxels with their HU, for the checks
DIR/case-missing/    the same volume with one slice file absent (the server answers 404)

The phantom: air (-1000 HU), an elliptic head with a skull ring (~1000 HU) around brain
(~30 HU plus a deterministic texture), a hyperdense spherical lesion (~70 HU) that is the
reference mask, a block of exact HU (HU_BLOCK) for the annotation checks, and a very bright marker block near voxel (40, 30) so that orientation
(row 0 at the top, x to the right) can be checked by eye and by test.
"""

import argparse
import json
import os
import shutil

import numpy as np

SPACING = [0.43, 0.5, 5.0]  # non-square pixels on purpose: the viewer must keep the aspect ratio
ORIGIN = [-110.0, -128.0, -40.0]
# A block of exact HU inside the brain on the middle slices (x0 <= x < x1, y0 <= y < y1): the left part
# (x < xs) is 70 HU (haemorrhage range 50-90, enclosed by brain and the right part, so a flood fill
# there stays inside it), the right part 20 HU (infarct range 10-30, which the brain texture shares,
# so a flood fill there leaks into the brain and hits the voxel cap).
HU_BLOCK = {"x0": 140, "xs": 160, "x1": 180, "y0": 300, "y1": 340, "z0": 5, "z1": 15, "leftHu": 70, "rightHu": 20}


def phantom(X, Y, Z):
    y, x = np.mgrid[0:Y, 0:X].astype(np.float64)
    # Ellipse in millimetres, so it looks round-ish only when the spacing is honoured.
    cx, cy = X / 2, Y / 2
    ax, ay = 0.36 * X * SPACING[0], 0.38 * Y * SPACING[1]  # about 79 x 97 mm half-axes
    vol = np.empty((Z, Y, X), dtype=np.int16)
    lesion = np.zeros((Z, Y, X), dtype=bool)
    lx, ly, lz, lr = 0.60 * X, 0.42 * Y, Z / 2, 0.10 * X * SPACING[0]  # lesion centre (voxels), radius (mm)
    for z in range(Z):
        t = 1.0 - 0.35 * abs(z - Z / 2) / (Z / 2)  # the head narrows away from the middle slice
        r = np.sqrt(((x - cx) * SPACING[0] / (ax * t)) ** 2 + ((y - cy) * SPACING[1] / (ay * t)) ** 2)
        hu = np.full((Y, X), -1000.0)
        hu[r < 1.0] = 1000.0  # skull
        xi, yi = x.astype(np.int64), y.astype(np.int64)
        texture = (((xi * 73856093) ^ (yi * 19349663) ^ (z * 83492791)) % 11) - 5  # deterministic noise
        brain = r < 0.92
        hu[brain] = 30.0 + texture[brain]
        dz = (z - lz) * SPACING[2]
        rr = np.sqrt(((x - lx) * SPACING[0]) ** 2 + ((y - ly) * SPACING[1]) ** 2 + dz * dz)
        les = (rr < lr) & brain
        hu[les] = 70.0 + texture[les]
        lesion[z] = les
        hu[20:40, 24:56] = 1500.0  # orientation marker near the top-left corner
        if HU_BLOCK["z0"] <= z <= HU_BLOCK["z1"]:  # known HU for the annotation checks
            b = HU_BLOCK
            hu[b["y0"]:b["y1"], b["x0"]:b["xs"]] = b["leftHu"]
            hu[b["y0"]:b["y1"], b["xs"]:b["x1"]] = b["rightHu"]
        vol[z] = np.round(hu).astype(np.int16)
    return vol, lesion


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def runs_of(flat):
    """Runs of a 0/1 vector, background first."""
    flat = flat.astype(np.int8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], change, [flat.size]))
    runs = np.diff(bounds).tolist()
    if flat[0] == 1:
        runs.insert(0, 0)
    return runs


def encode_srle(mask):
    Z, Y, X = mask.shape
    out = bytearray(b"SRLE")
    out.append(1)
    for d in (X, Y, Z):
        out += varint(d)
    for z in range(Z):
        runs = runs_of(mask[z].reshape(-1))
        out += varint(len(runs))
        for r in runs:
            out += varint(r)
    return bytes(out)


def decode_srle(data):
    assert data[:4] == b"SRLE" and data[4] == 1
    pos = 5

    def read():
        nonlocal pos
        v, shift = 0, 0
        while True:
            b = data[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return v

    X, Y, Z = read(), read(), read()
    mask = np.zeros((Z, Y * X), dtype=bool)
    for z in range(Z):
        p = 0
        for i in range(read()):
            n = read()
            if i % 2:
                mask[z, p:p + n] = True
            p += n
        assert p == X * Y
    return mask.reshape(Z, Y, X)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--slices", type=int, default=20)
    args = ap.parse_args()
    X = Y = args.size
    Z = args.slices
    vol, lesion = phantom(X, Y, Z)

    case = os.path.join(args.out, "case1")
    os.makedirs(os.path.join(case, "slices"), exist_ok=True)
    for z in range(Z):
        vol[z].astype("<i2").tofile(os.path.join(case, "slices", f"{z}.raw"))
    rle = encode_srle(lesion)
    assert (decode_srle(rle) == lesion).all()
    with open(os.path.join(case, "reference.rle"), "wb") as f:
        f.write(rle)

    mid = Z // 2
    lz = np.argwhere(lesion[mid])
    ly, lx = (int(v) for v in lz[len(lz) // 2])
    probes = [
        {"what": "lesion", "x": lx, "y": ly, "z": mid, "hu": int(vol[mid, ly, lx])},
        {"what": "brain", "x": X // 2 - X // 8, "y": Y // 2 + Y // 8, "z": mid, "hu": int(vol[mid, Y // 2 + Y // 8, X // 2 - X // 8])},
        {"what": "marker", "x": 40, "y": 30, "z": mid, "hu": int(vol[mid, 30, 40])},
        {"what": "air", "x": 3, "y": Y - 3, "z": mid, "hu": int(vol[mid, Y - 3, 3])},
    ]
    meta = {
        "dims": [X, Y, Z],
        "spacing": SPACING,
        "origin": ORIGIN,
        "lesionVoxels": int(lesion.sum()),
        "lesionVoxelsMid": int(lesion[mid].sum()),
        "probes": probes,
        "huBlock": HU_BLOCK if X == 512 and Y == 512 else None,
    }
    with open(os.path.join(case, "fixture.json"), "w") as f:
        json.dump(meta, f, indent=2)

    missing = os.path.join(args.out, "case-missing")
    if os.path.exists(missing):
        shutil.rmtree(missing)
    shutil.copytree(case, missing)
    os.remove(os.path.join(missing, "slices", f"{mid + 3}.raw"))
    print(f"wrote {X}x{Y}x{Z} phantom to {case} (reference.rle {len(rle)} bytes, lesion {lesion.sum()} voxels); "
          f"{missing} lacks slice {mid + 3}")


if __name__ == "__main__":
    main()
