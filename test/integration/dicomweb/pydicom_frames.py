"""Independent reference for the DICOMweb tests: the frames of a Part 10 file as pydicom
reads them. Encapsulated (JPEG) files: the stored frame bytes; native files: the decoded
pixels (pixel_array, interleaved). Prints JSON {"encapsulated": bool, "frames": [base64, ...]}.
Usage: /usr/bin/python3 pydicom_frames.py FILE FRAME_NUMBER... (1-based)"""
import base64
import json
import sys

import pydicom
import pydicom.encaps

path = sys.argv[1]
wanted = [int(n) for n in sys.argv[2:]]
ds = pydicom.dcmread(path)
count = int(getattr(ds, "NumberOfFrames", 1))
if ds.file_meta.TransferSyntaxUID.is_compressed:
    frames = list(pydicom.encaps.generate_pixel_data_frame(ds.PixelData, count))
    out = [frames[n - 1] for n in wanted]
    encapsulated = True
else:
    arr = ds.pixel_array
    if count == 1:
        arr = arr[None, ...]
    out = [arr[n - 1].tobytes() for n in wanted]
    encapsulated = False
print(json.dumps({"encapsulated": encapsulated, "frames": [base64.b64encode(f).decode() for f in out]}))
