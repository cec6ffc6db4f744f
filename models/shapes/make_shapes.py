#!/usr/bin/env python3
"""Synthetic coloured shapes: the second model family of fogline's tests (see README.md here).

  /usr/bin/python3 models/shapes/make_shapes.py      # from the repo root; writes data/ (a few seconds)

Every image is 3x32x32 RGB, uint8: one shape of one of the LABELS (in this order) at a random position
and size, rotated at random (circles are not), in a random fill colour on a random background colour
with a mild linear gradient, anti-aliased (4x4 supersampling), plus Gaussian pixel noise. The colours
are drawn so that the fill is sometimes close to the background, and shapes go down to ~8 px across:
that is what keeps a few-thousand-parameter model under 100 %.

`render(rng, labels)` is the one generator: this script uses it for the committed PNG splits, and
train_shapes.py for its training images (generated in memory from other seeds, never written).
Deterministic: the same seed gives the same pixels on any machine with numpy's PCG64.
"""
import os
import shutil
import sys

import numpy as np

LABELS = ('circle', 'square', 'triangle', 'cross')
SIZE = 32
SUPERSAMPLE = 4
MIN_CONTRAST = 60  # Euclidean RGB distance between fill and background, 0-255 levels
NOISE_MAX = 10  # largest per-image standard deviation of the pixel noise, levels
SEED = 20261205
# split name -> (images per class, seed). Training uses seeds from SEED + 100 on (train_shapes.py).
SPLITS = {'calibration': (64, SEED + 1), 'test': (100, SEED + 2)}
HERE = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = os.path.join(HERE, 'data')

# Bounding radius of each shape per unit of its size parameter r, so the whole shape stays in frame.
_EXTENT = {'circle': 1.0, 'square': 0.8 * np.sqrt(2), 'triangle': 1.1, 'cross': np.hypot(1.0, 0.4)}


def _coverage(kind, x, y, r, arm):
    """Inside-mask of one shape kind in its own frame (x, y rotated and centred), [B, S, S] bool."""
    r = r[:, None, None]
    if kind == 'circle':
        return x * x + y * y <= r * r
    if kind == 'square':
        return np.maximum(np.abs(x), np.abs(y)) <= 0.8 * r
    if kind == 'triangle':  # equilateral, circumradius 1.1 r: inside all three edges (inradius R/2)
        big_r = 1.1 * r
        inside = np.ones(x.shape, dtype=bool)
        for angle in (-np.pi / 2, np.pi / 6, 5 * np.pi / 6):
            inside &= x * np.cos(angle) + y * np.sin(angle) <= big_r / 2
        return inside
    if kind == 'cross':  # a plus sign: two bars of half-length r and half-width arm·r
        w = arm[:, None, None] * r
        ax, ay = np.abs(x), np.abs(y)
        return ((ax <= r) & (ay <= w)) | ((ax <= w) & (ay <= r))
    raise ValueError(kind)


def _colours(rng, n):
    """Background and fill colours in [0, 255]: the fill differs from the background by MIN_CONTRAST or more
    (Euclidean RGB distance), often only a little."""
    bg = rng.uniform(0, 255, (n, 3))
    fill = np.empty_like(bg)
    todo = np.arange(n)
    while len(todo):
        cand = rng.uniform(0, 255, (len(todo), 3))
        ok = np.linalg.norm(cand - bg[todo], axis=1) >= MIN_CONTRAST
        fill[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return bg, fill


def render(rng, labels):
    """Images [N, 32, 32, 3] uint8 (HWC, RGB) of the given class indices, drawn from `rng`."""
    labels = np.asarray(labels)
    n = len(labels)
    r = rng.uniform(4.0, 10.0, n)
    ext = np.array([_EXTENT[LABELS[k]] for k in labels]) * r
    cx = rng.uniform(ext + 0.5, SIZE - ext - 0.5)
    cy = rng.uniform(ext + 0.5, SIZE - ext - 0.5)
    theta = rng.uniform(0, 2 * np.pi, n)
    arm = rng.uniform(0.22, 0.4, n)
    bg, fill = _colours(rng, n)
    gradient = rng.normal(0, 1, (n, 2)) * rng.uniform(0, 20, (n, 1))  # per-image bg slope, levels/frame
    noise_sigma = rng.uniform(2, NOISE_MAX, n)
    noise = rng.normal(0, 1, (n, SIZE, SIZE, 3))

    s = SIZE * SUPERSAMPLE
    grid = (np.arange(s) + 0.5) / SUPERSAMPLE
    alpha = np.zeros((n, SIZE, SIZE))
    for k, kind in enumerate(LABELS):
        idx = np.nonzero(labels == k)[0]
        for chunk in np.array_split(idx, max(1, len(idx) // 256)):
            if not len(chunk):
                continue
            dx = grid[None, None, :] - cx[chunk, None, None]
            dy = grid[None, :, None] - cy[chunk, None, None]
            c, sn = np.cos(theta[chunk])[:, None, None], np.sin(theta[chunk])[:, None, None]
            x, y = c * dx + sn * dy, -sn * dx + c * dy
            mask = _coverage(kind, x, y, r[chunk], arm[chunk])
            alpha[chunk] = mask.reshape(len(chunk), SIZE, SUPERSAMPLE, SIZE, SUPERSAMPLE).mean(axis=(2, 4))

    ramp = (np.arange(SIZE) - (SIZE - 1) / 2) / SIZE
    shade = gradient[:, 0, None, None] * ramp[None, None, :] + gradient[:, 1, None, None] * ramp[None, :, None]
    a = alpha[..., None]
    img = bg[:, None, None, :] * (1 - a) + fill[:, None, None, :] * a + shade[..., None]
    img += noise * noise_sigma[:, None, None, None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def balanced_labels(per_class):
    return np.repeat(np.arange(len(LABELS)), per_class)


def write_split(name, per_class, seed):
    from PIL import Image  # Debian python3-pil; only needed to write the PNGs

    rng = np.random.default_rng(seed)
    labels = balanced_labels(per_class)
    images = render(rng, labels)
    root = os.path.join(DATA_DIR, name)
    shutil.rmtree(root, ignore_errors=True)
    counters = {}
    for img, k in zip(images, labels):
        label = LABELS[k]
        i = counters.get(label, 0)
        counters[label] = i + 1
        folder = os.path.join(root, label)
        os.makedirs(folder, exist_ok=True)
        Image.fromarray(img, 'RGB').save(os.path.join(folder, f'{i:04d}.png'), optimize=True)
    return len(labels)


def read_split(name):
    """A committed split as (images [N, 32, 32, 3] uint8, labels [N]) in label, then file-name order."""
    from PIL import Image

    images, labels = [], []
    for k, label in enumerate(LABELS):
        folder = os.path.join(DATA_DIR, name, label)
        for file in sorted(os.listdir(folder)):
            with Image.open(os.path.join(folder, file)) as im:
                images.append(np.asarray(im.convert('RGB')))
            labels.append(k)
    return np.stack(images), np.asarray(labels)


def main():
    for name, (per_class, seed) in SPLITS.items():
        count = write_split(name, per_class, seed)
        print(f'{name}: {count} images ({per_class} per class, seed {seed}) under {os.path.join(DATA_DIR, name)}')


if __name__ == '__main__':
    sys.dont_write_bytecode = True
    main()
