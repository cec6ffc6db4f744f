#!/usr/bin/env python3
"""Train and export the shapes model family: shapes-tiny, shapes-mid, shapes-large.

  /usr/bin/python3 models/shapes/make_shapes.py     # the committed PNG splits (data/calibration, data/test)
  /usr/bin/python3 models/shapes/train_shapes.py    # from the repo root; a few minutes on 2 shared cores

Steps: (1) render the training images in memory (make_shapes.render, seeds SEED + 100 on; never
written, never the committed splits' seeds) and a dev holdout for monitoring; (2) compute the
per-channel mean and std of the training pixels (scale 1/255), rounded to 4 decimals: these exact
numbers are the preprocessing recorded in zoo.json and used to train; (3) train the three CNNs of
shapes_nets.py; (4) export each to ONNX (opset 17, eval mode, BatchNorm folded, dynamic batch axis)
under its own tensor names (tiny pixels -> logits, mid input -> logits, large x -> probs), run
onnx.checker; (5) measure accuracy on the committed calibration and test PNGs, read back from disk
and prepared exactly as a user's tier would, and write zoo.json.
Needs Debian's python3-torch, python3-onnx and python3-pil.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # keep models/ free of __pycache__
import make_shapes as shapes  # noqa: E402
import shapes_nets as nets  # noqa: E402

SEED = shapes.SEED
OPSET = 17
# name -> (input name, output name, output_kind, epochs, learning rate)
PLAN = {
    'shapes-tiny': ('pixels', 'logits', 'logits', 8, 1e-2),
    'shapes-mid': ('input', 'logits', 'logits', 8, 4e-3),
    'shapes-large': ('x', 'probs', 'probabilities', 8, 3e-3),
}


def log(msg):
    print(time.strftime('%H:%M:%S'), msg, flush=True)


def prepare(images, mean, std):
    """uint8 HWC RGB -> FP32 NCHW, (pixel / 255 - mean[c]) / std[c]: the recorded preprocessing."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def training_data(count, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, len(shapes.LABELS), count)
    return shapes.render(rng, labels), torch.from_numpy(labels)


def predict(model, x, batch=500):
    model.eval()
    with torch.no_grad():
        return torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])


def accuracy(model, x, y):
    return (predict(model, x).argmax(1) == y).float().mean().item()


def train(name, model, fit, dev, epochs, lr, batch):
    x, y = fit
    torch.manual_seed(SEED + len(name))
    gen = torch.Generator().manual_seed(SEED + len(name))
    steps = len(x) // batch
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps, pct_start=0.2)
    for epoch in range(epochs):
        model.train()
        t0, total = time.time(), 0.0
        perm = torch.randperm(len(x), generator=gen)
        for i in range(steps):
            idx = perm[i * batch:(i + 1) * batch]
            xb = x[idx]
            # Every class is closed under the square's symmetries: quarter turns and mirror images.
            xb = torch.rot90(xb, int(torch.randint(4, (1,), generator=gen)), dims=(2, 3))
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(flip.view(-1, 1, 1, 1), xb.flip(3), xb)
            loss = F.cross_entropy(model(xb), y[idx], label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        log(f'{name} epoch {epoch + 1}/{epochs} loss {total / steps:.4f} dev {accuracy(model, *dev):.4f} '
            f'({time.time() - t0:.1f}s)')
    return model


def export(model, name, input_name, output_name, out_dir):
    path = os.path.join(out_dir, f'{name}.onnx')
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 3, 32, 32), path, input_names=[input_name], output_names=[output_name],
                      dynamic_axes={input_name: {0: 'batch'}, output_name: {0: 'batch'}}, opset_version=OPSET,
                      do_constant_folding=True)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    ops = sorted({n.op_type for n in proto.graph.node})
    assert 'BatchNormalization' not in ops, f'{name}: BatchNorm not folded'
    params = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
    return path, ops, params


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--train', type=int, default=16000, help='training images, rendered in memory')
    ap.add_argument('--dev', type=int, default=2000, help='dev holdout for monitoring')
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--epochs', type=int, default=None, help='override every model\'s epoch count')
    ap.add_argument('--only', choices=sorted(nets.NETS), action='append',
                    help='train only these; the other models\' entries of an existing zoo.json are kept')
    ap.add_argument('--threads', type=int, default=2, help='torch intra-op threads')
    ap.add_argument('--out', default=shapes.HERE, help='where the ONNX files and zoo.json go')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    start = time.time()
    fit_images, fit_labels = training_data(args.train, SEED + 100)
    dev_images, dev_labels = training_data(args.dev, SEED + 101)
    pixels = fit_images.reshape(-1, 3).astype(np.float64) / 255
    mean = [round(float(v), 4) for v in pixels.mean(0)]
    std = [round(float(v), 4) for v in pixels.std(0)]
    log(f'rendered fit {len(fit_labels)} dev {len(dev_labels)} in {time.time() - start:.1f}s; mean {mean} std {std}')
    fit = (prepare(fit_images, mean, std), fit_labels)
    dev = (prepare(dev_images, mean, std), dev_labels)
    splits = {}
    for split in shapes.SPLITS:
        images, labels = shapes.read_split(split)
        splits[split] = (prepare(images, mean, std), torch.from_numpy(labels))

    zoo = {
        'seed': SEED,
        'labels': list(shapes.LABELS),
        'preprocessing': {'layout': 'NCHW', 'channel_order': 'RGB', 'scale': 1 / 255, 'mean': mean, 'std': std},
        'data': {split: {'dir': f'models/shapes/data/{split}', 'per_class': per_class, 'seed': seed}
                 for split, (per_class, seed) in shapes.SPLITS.items()},
        'training': {'fit': args.train, 'dev': args.dev, 'seeds': [SEED + 100, SEED + 101], 'batch': args.batch,
                     'train_wall_seconds': None},
        'models': {},
    }
    train_seconds, model_seconds = 0.0, {}
    for name, make in nets.NETS.items():
        if args.only and name not in args.only:
            continue
        input_name, output_name, output_kind, epochs, lr = PLAN[name]
        epochs = args.epochs or epochs
        t0 = time.time()
        torch.manual_seed(SEED + len(name))
        model = make()
        if hasattr(model, 'emit_probabilities'):
            model.emit_probabilities = False
        train(name, model, fit, dev, epochs, lr, args.batch)
        if hasattr(model, 'emit_probabilities'):
            model.emit_probabilities = True
        model_seconds[name] = round(time.time() - t0)
        train_seconds += time.time() - t0
        path, ops, params = export(model, name, input_name, output_name, args.out)
        macs = nets.count_macs(model)
        entry = {
            'onnx': os.path.basename(path), 'params': params, 'macs': macs, 'onnx_bytes': os.path.getsize(path),
            'onnx_ops': ops, 'opset': OPSET, 'epochs': epochs,
            'input': {'name': input_name, 'datatype': 'FP32', 'shape': [-1, 3, 32, 32]},
            'output': {'name': output_name, 'datatype': 'FP32', 'shape': [-1, len(shapes.LABELS)]},
            'output_kind': output_kind,
            'accuracy': {'dev': round(accuracy(model, *dev), 4),
                         **{split: round(accuracy(model, *data), 4) for split, data in splits.items()}},
        }
        zoo['models'][name] = entry
        log(f'{name}: {json.dumps(entry)}')
    zoo_path = os.path.join(args.out, 'zoo.json')
    if args.only and os.path.exists(zoo_path):  # keep the models not retrained, if trained on the same inputs
        with open(zoo_path) as f:
            old = json.load(f)
        if old['preprocessing'] == zoo['preprocessing'] and old['training']['fit'] == args.train:
            zoo['models'] = {name: zoo['models'].get(name) or old['models'][name]
                             for name in nets.NETS if name in zoo['models'] or name in old['models']}
            train_seconds += sum(old['training']['model_seconds'].get(name, 0)
                                 for name in zoo['models'] if name not in args.only)
            for name in zoo['models']:
                model_seconds.setdefault(name, old['training']['model_seconds'].get(name))
    zoo['training']['model_seconds'] = model_seconds
    zoo['training']['train_wall_seconds'] = round(train_seconds)
    with open(zoo_path, 'w') as f:
        json.dump(zoo, f, indent=2)
        f.write('\n')
    log(f'done in {time.time() - start:.0f}s')


if __name__ == '__main__':
    main()
