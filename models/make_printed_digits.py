#!/usr/bin/env python3
"""Render a small out-of-distribution probe set: digits 0-9 printed in every DejaVu font on this
machine (Debian fonts-dejavu), preprocessed like MNIST (fit in a 20x20 box keeping the aspect ratio,
then centred by centre of mass in 28x28; values in [0,1], ink = 1).

Never used for training: it only measures how the zoo copes with printed digits.
Writes models/digits/printed.json: {fonts, labels, images (base64 of uint8 count*784, 255 = ink)}.
Usage: /usr/bin/python3 models/make_printed_digits.py
(needs python3-pil, fonts-dejavu-core and fonts-dejavu-extra: 22 font files)
"""
import base64
import glob
import json
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFont

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'models', 'digits', 'printed.json')
FONT_GLOB = '/usr/share/fonts/truetype/dejavu/DejaVu*.ttf'


def render(font_path, digit):
    font = ImageFont.truetype(font_path, 96)
    canvas = Image.new('L', (192, 192), 0)
    ImageDraw.Draw(canvas).text((48, 24), str(digit), fill=255, font=font)
    box = canvas.getbbox()
    glyph = canvas.crop(box)
    w, h = glyph.size
    scale = 20 / max(w, h)
    glyph = glyph.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.LANCZOS)
    g = np.asarray(glyph, dtype=np.float32) / 255
    out = np.zeros((28, 28), dtype=np.float32)
    gh, gw = g.shape
    ys, xs = np.mgrid[0:gh, 0:gw]
    cy, cx = (ys * g).sum() / g.sum(), (xs * g).sum() / g.sum()
    top = int(round(14 - cy - 0.5 + 0.5))
    left = int(round(14 - cx - 0.5 + 0.5))
    top, left = min(max(top, 0), 28 - gh), min(max(left, 0), 28 - gw)
    out[top:top + gh, left:left + gw] = g
    return out


def main():
    fonts = sorted(glob.glob(FONT_GLOB))
    images, labels, names = [], [], []
    for path in fonts:
        for d in range(10):
            images.append(render(path, d))
            labels.append(d)
            names.append(os.path.basename(path)[:-4])
    raw = (np.stack(images) * 255).round().astype(np.uint8)
    with open(OUT, 'w') as f:
        json.dump({'description': __doc__.strip().splitlines()[0], 'count': len(labels), 'fonts': names,
                   'labels': labels, 'images_base64_uint8': base64.b64encode(raw.tobytes()).decode()}, f)
        f.write('\n')
    print(f'wrote {OUT}: {len(labels)} digits from {len(fonts)} fonts')


if __name__ == '__main__':
    main()
