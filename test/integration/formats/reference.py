"""Reference decodes for the format tests (run with Debian's /usr/bin/python3).

usage: reference.py MODE FILE OUTDIR < requests.json
  openslide: [{"x","y","level","w","h"}] -> RGBA bytes of read_region
  dicom:     [{"frame"}]                 -> RGB/gray uint8 (YBR converted to RGB)
  tifffile:  [{"level","plane","x","y","w","h"}] -> samples of series 0 at that level (little-endian)
  pillow:    [{"page","x","y","w","h"}]  -> samples of that TIFF page, decoded by Pillow/libtiff
Writes OUTDIR/<i>.raw and prints a JSON list of shapes.
"""
import json
import os
import sys

import numpy as np


def main():
    mode, path, outdir = sys.argv[1:4]
    reqs = json.load(sys.stdin)
    shapes = []
    if mode == 'openslide':
        import openslide
        s = openslide.OpenSlide(path)
        for i, r in enumerate(reqs):
            img = s.read_region((r['x'], r['y']), r['level'], (r['w'], r['h']))
            a = np.asarray(img.convert('RGBA'))
            a.tofile(os.path.join(outdir, f'{i}.raw'))
            shapes.append(list(a.shape))
        shapes.append({'downsamples': list(s.level_downsamples)})
    elif mode == 'dicom':
        # Frames come out of pydicom; compressed ones are decoded by Pillow (libjpeg) from the
        # frame bytes, which honours JFIF/Adobe markers as a browser does. (pydicom 2.3's own
        # pixel_array colour-converts JFIF frames of 'RGB' objects a second time.)
        import io
        import pydicom
        from PIL import Image
        from pydicom.encaps import generate_pixel_data_frame
        ds = pydicom.dcmread(path)
        n = int(getattr(ds, 'NumberOfFrames', 1))
        if ds.file_meta.TransferSyntaxUID.is_compressed:
            frames = list(generate_pixel_data_frame(ds.PixelData, n))
            get = lambda k: np.asarray(Image.open(io.BytesIO(frames[k])))
        else:
            arr = ds.pixel_array
            if n == 1:
                arr = arr[np.newaxis]
            get = lambda k: arr[k]
        for i, r in enumerate(reqs):
            a = np.ascontiguousarray(get(r['frame']).astype(np.uint8))
            a.tofile(os.path.join(outdir, f'{i}.raw'))
            shapes.append(list(a.shape))
    elif mode == 'tifffile':
        import tifffile
        t = tifffile.TiffFile(path)
        series = t.series[0]
        cache = {}
        for i, r in enumerate(reqs):
            lv = r['level']
            if lv not in cache:
                cache[lv] = series.levels[lv].asarray()
            a = cache[lv]
            axes = series.levels[lv].axes
            if axes.startswith('C'):
                a = a[r['plane']]
            a = a[r['y']:r['y'] + r['h'], r['x']:r['x'] + r['w']]
            a = np.ascontiguousarray(a.astype(a.dtype.newbyteorder('<')))
            a.tofile(os.path.join(outdir, f'{i}.raw'))
            shapes.append(list(a.shape))
    elif mode == 'pillow':
        # Pillow (libtiff) for compressions tifffile cannot decode without imagecodecs (LZW).
        from PIL import Image
        im = Image.open(path)
        for i, r in enumerate(reqs):
            im.seek(r['page'])
            a = np.asarray(im.crop((r['x'], r['y'], r['x'] + r['w'], r['y'] + r['h'])))
            a = np.ascontiguousarray(a)
            a.tofile(os.path.join(outdir, f'{i}.raw'))
            shapes.append(list(a.shape))
    elif mode == 'j2k':
        # Fixtures for JPEG 2000 TIFF tiles: a gradient image, its lossless codestream as RGB
        # (with the reversible colour transform) and as YCbCr samples without any transform.
        from PIL import Image
        w, h = 64, 48
        y, x = np.mgrid[0:h, 0:w]
        rgb = np.stack([(x * 4) % 256, (y * 5) % 256, (x + y) * 2 % 256], axis=-1).astype(np.uint8)
        src = Image.fromarray(rgb, 'RGB')
        ycc = Image.frombytes('RGB', (w, h), src.convert('YCbCr').tobytes())
        for i, r in enumerate(reqs):
            out = os.path.join(outdir, f'{i}.raw')
            if r['kind'] == 'rgb':
                rgb.tofile(out)
            elif r['kind'] == 'j2k-rgb':
                src.save(out, 'JPEG2000', irreversible=False, no_jp2=True)
            elif r['kind'] == 'j2k-ycbcr':
                ycc.save(out, 'JPEG2000', irreversible=False, no_jp2=True, mct=0)
            shapes.append([h, w, 3])
    print(json.dumps(shapes))


main()
