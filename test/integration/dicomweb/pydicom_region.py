"""Independent reference for the DICOMweb viewer test: a region of one level of a TILED_FULL
DICOM WSI instance, decoded by pydicom (pixel_array, its own JPEG handling through Pillow)
and assembled from the frames by the standard's TILED_FULL order (row-major frames of
Columns x Rows over TotalPixelMatrixColumns x TotalPixelMatrixRows). Nothing of the app is
used. Writes the region as raw interleaved RGB (8-bit) to OUT and prints its size as JSON.
Usage: /usr/bin/python3 pydicom_region.py OUT FILE X Y WIDTH HEIGHT"""
import json
import sys

import numpy as np
import pydicom
import pydicom.encaps
from pydicom.pixel_data_handlers.util import convert_color_space

out, path = sys.argv[1], sys.argv[2]
x, y, w, h = (int(v) for v in sys.argv[3:7])
ds = pydicom.dcmread(path)
org = getattr(ds, "DimensionOrganizationType", "TILED_FULL")
if org != "TILED_FULL":
    sys.exit(f"{path}: DimensionOrganizationType {org}, only TILED_FULL is assembled here")
if ds.SamplesPerPixel != 3:
    sys.exit(f"{path}: {ds.SamplesPerPixel} samples per pixel, expected RGB")
arr = ds.pixel_array
count = int(getattr(ds, "NumberOfFrames", 1))
if count == 1:
    arr = arr[None, ...]
# The colour space of the decoded frames (pydicom converts nothing by itself here).
stored_ybr = ds.PhotometricInterpretation.startswith("YBR")
if ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50" and not stored_ybr:
    # Writers label JFIF (YCbCr) baseline JPEG frames "RGB"; pydicom then keeps the stream's
    # components as decoded. JFIF says YCbCr whatever the header says (JFIF 1.02).
    first = next(pydicom.encaps.generate_pixel_data_frame(ds.PixelData, count))
    stored_ybr = first[2:4] == b"\xff\xe0" and first[6:11] == b"JFIF\x00"
if stored_ybr:
    arr = convert_color_space(arr, "YBR_FULL", "RGB")
tw, th = int(ds.Columns), int(ds.Rows)
W, H = int(ds.TotalPixelMatrixColumns), int(ds.TotalPixelMatrixRows)
cols = -(-W // tw)
if not (0 <= x and 0 <= y and x + w <= W and y + h <= H):
    sys.exit(f"region {x},{y} {w}x{h} outside the {W}x{H} matrix")
region = np.zeros((h, w, 3), dtype=np.uint8)
for ty in range(y // th, (y + h - 1) // th + 1):
    for tx in range(x // tw, (x + w - 1) // tw + 1):
        frame = arr[ty * cols + tx]
        # Overlap of this frame with the region, in matrix coordinates.
        x0, x1 = max(x, tx * tw), min(x + w, (tx + 1) * tw)
        y0, y1 = max(y, ty * th), min(y + h, (ty + 1) * th)
        region[y0 - y : y1 - y, x0 - x : x1 - x] = frame[y0 - ty * th : y1 - ty * th, x0 - tx * tw : x1 - tx * tw]
with open(out, "wb") as f:
    f.write(region.tobytes())
print(json.dumps({"width": w, "height": h, "photometric": ds.PhotometricInterpretation}))
