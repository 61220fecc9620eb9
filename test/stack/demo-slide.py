#!/usr/bin/python3
"""Writes a deterministic, tissue-like RGB image (H&E-ish colours) as a binary PPM.

Usage: demo-slide.py WIDTH HEIGHT SEED OUT.ppm
Tissue islands come from smooth noise, stroma is eosin pink with fibre-like texture,
nuclei are haematoxylin-purple ellipses clustered inside the tissue, and the rest is the
near-white glass background, so a viewer shows structure at every zoom level and
background tiles really are empty.
"""
import sys
import numpy as np
from skimage.transform import resize
from skimage.draw import ellipse
from scipy.ndimage import zoom

w, h, seed, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(seed)


# Smooth fields are built at a quarter of the size and scaled up: same look, a fraction of the time.
lh, lw = (h + 3) // 4, (w + 3) // 4


def smooth_noise(cell):
    """Value noise with features about `cell` full-size pixels across, at quarter size."""
    c = max(cell // 4, 1)
    grid = rng.random((lh // c + 3, lw // c + 3))
    big = resize(grid, ((lh // c + 3) * c, (lw // c + 3) * c), order=3, mode='reflect', anti_aliasing=False)
    return big[:lh, :lw]


def upscale(field):
    return zoom(field.astype(np.float32), 4, order=1)[:h, :w]


low_shape = 0.65 * smooth_noise(512) + 0.35 * smooth_noise(128)
# Fade towards the edges so the specimen sits on the slide with glass around it.
yy, xx = np.mgrid[0:lh, 0:lw]
edge = np.minimum.reduce([xx / lw, (lw - xx) / lw, yy / lh, (lh - yy) / lh])
shape = upscale(low_shape - 0.6 * np.clip(0.12 - edge, 0, None) / 0.12)
tissue = shape > 0.52

texture = upscale(0.6 * smooth_noise(16) + 0.4 * smooth_noise(48))
img = np.empty((h, w, 3), np.float32)
img[:] = (243, 241, 244)  # glass
pink = np.array([226, 148, 186], np.float32)
pale = np.array([240, 196, 216], np.float32)
t = texture[..., None]
stroma = pink * t + pale * (1 - t)
img[tissue] = stroma[tissue]

# Nuclei: more where the tissue is dense; rejection sampling keeps them on tissue.
n = int(tissue.sum() / 420)
cy = rng.integers(0, h, n * 2)
cx = rng.integers(0, w, n * 2)
keep = tissue[cy, cx] & (rng.random(n * 2) < shape[cy, cx] * 1.4)
cy, cx = cy[keep][:n], cx[keep][:n]
for y, x in zip(cy, cx):
    r1, r2 = rng.uniform(2.5, 6.0), rng.uniform(2.5, 6.0)
    rr, cc = ellipse(y, x, r1, r2, shape=(h, w), rotation=rng.uniform(0, np.pi))
    shade = rng.uniform(0.0, 0.35)
    img[rr, cc] = np.array([88, 52, 132], np.float32) * (1 - shade) + np.array([150, 100, 170], np.float32) * shade

img += rng.normal(0, 3.0, img.shape).astype(np.float32)
img = np.clip(img, 0, 255).astype(np.uint8)
with open(out, 'wb') as f:
    f.write(b'P6\n%d %d\n255\n' % (w, h))
    f.write(img.tobytes())
