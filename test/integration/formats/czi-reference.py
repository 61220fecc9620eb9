"""Zeiss' own reader (pylibCZIrw, in the test stack's venv) as the oracle for CZI.

argv: <file> <out dir>; stdin: JSON list of {x, y, w, h, zoom, plane} in pixels of the
total bounding box (x, y relative to its origin). Writes <i>.raw (the samples as libCZI
composes them, little-endian, RGB order for colour) and prints JSON: the bounding box,
channel names, colours and the pixel size in microns.
"""
import json
import sys

import numpy as np
from pylibCZIrw import czi as pyczi

path, out = sys.argv[1], sys.argv[2]
requests = json.load(sys.stdin)
with pyczi.open_czi(path) as doc:
    box = doc.total_bounding_rectangle
    md = doc.metadata['ImageDocument']['Metadata']
    chans = md['Information']['Image']['Dimensions']['Channels']['Channel']
    if isinstance(chans, dict):
        chans = [chans]
    distances = md['Scaling']['Items']['Distance']
    if isinstance(distances, dict):
        distances = [distances]
    um = {d['@Id']: float(d['Value']) * 1e6 for d in distances}
    shapes = []
    for i, r in enumerate(requests):
        roi = (box.x + r['x'], box.y + r['y'], r['w'], r['h'])
        a = doc.read(roi=roi, plane={'C': r['plane'], 'Z': 0, 'T': 0}, zoom=r['zoom'])
        if a.shape[2] == 3:
            a = a[:, :, ::-1]  # libCZI answers BGR
        np.ascontiguousarray(a).astype(a.dtype.newbyteorder('<')).tofile(f'{out}/{i}.raw')
        shapes.append(list(a.shape))
    print(json.dumps({
        'box': [box.x, box.y, box.w, box.h],
        'scenes': {str(k): [v.x - box.x, v.y - box.y, v.w, v.h] for k, v in doc.scenes_bounding_rectangle.items()},
        'channels': [c.get('@Name') for c in chans],
        'pixelTypes': {str(k): v for k, v in doc.pixel_types.items()},
        'mpp': [um.get('X'), um.get('Y')],
        'shapes': shapes,
    }))
