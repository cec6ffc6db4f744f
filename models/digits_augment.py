"""Batch augmentation on CPU tensors [B,1,28,28] in [0,1] (ink = 1).

One resampling per batch: random affine (rotation, scale, aspect, shear, shift) plus an optional
smooth elastic field, then stroke-width change (soft dilation / erosion with 3x3 max/min pooling)
and an intensity gain. Aimed at other writers and printed fonts, not only at MNIST itself.
"""
import math

import torch
import torch.nn.functional as F


def _affine(b):
    rot = torch.empty(b).uniform_(-15, 15) * math.pi / 180
    scale = torch.empty(b).uniform_(0.8, 1.15)
    aspect = torch.empty(b).uniform_(0.85, 1.15)
    shear = torch.empty(b).uniform_(-0.25, 0.25)
    shift = torch.empty(b, 2).uniform_(-3, 3) * 2 / 28  # pixels -> normalised coordinates
    sx, sy = scale * aspect.sqrt(), scale / aspect.sqrt()
    cos, sin = torch.cos(rot), torch.sin(rot)
    # grid maps output -> input coordinates, so invert the zoom: output = zoom * input.
    a = torch.stack([torch.stack([cos / sx, (-sin + shear * cos) / sx, shift[:, 0]], 1),
                     torch.stack([sin / sy, (cos + shear * sin) / sy, shift[:, 1]], 1)], 1)
    return a


def _elastic(b, strength_px):
    coarse = torch.randn(b, 2, 4, 4) * strength_px * 2 / 28
    field = F.interpolate(coarse, size=(28, 28), mode='bicubic', align_corners=False)
    return field.permute(0, 2, 3, 1)


def _stroke(x, amount):
    """amount in [-1, 1] per sample: > 0 thickens (dilation), < 0 thins (erosion)."""
    dil = F.max_pool2d(x, 3, 1, 1)
    ero = -F.max_pool2d(-x, 3, 1, 1)
    a = amount.view(-1, 1, 1, 1)
    return torch.where(a >= 0, x + a * (dil - x), x + (-a) * (ero - x))


def augment(x):
    b = x.shape[0]
    grid = F.affine_grid(_affine(b), list(x.shape), align_corners=False)
    use_elastic = (torch.rand(b) < 0.5).float().view(-1, 1, 1, 1)
    grid = grid + use_elastic * _elastic(b, 1.2)
    y = F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
    amount = torch.empty(b).uniform_(-0.6, 1.0) * (torch.rand(b) < 0.5).float()
    y = _stroke(y, amount)
    gain = torch.where(torch.rand(b) < 0.3, torch.empty(b).uniform_(0.7, 1.3), torch.ones(b))
    y = (y * gain.view(-1, 1, 1, 1)).clamp_(0, 1)
    keep = (torch.rand(b) < 0.1).view(-1, 1, 1, 1)  # a few untouched digits
    return torch.where(keep, x, y)
