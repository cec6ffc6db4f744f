#!/usr/bin/env python3
"""Train and export the digits model zoo: digits-tiny, digits-mid, digits-large.

  /usr/bin/python3 models/train_digits.py            # from the repo root; ~25-45 min on 2 shared cores
  /usr/bin/python3 models/train_digits.py --fresh    # ignore cached checkpoints in --work

Steps: (1) train the five ensemble members of digits-large (MEMBER_PLAN) on the train split (minus
a 500-digit dev holdout used only for monitoring) with strong augmentation; (2) distil digits-tiny and
digits-mid from that ensemble on the same augmented batches; (3) export each model to ONNX (opset 17,
eval mode, constant folding so BatchNorm folds into Conv, dynamic batch axis), run onnx.checker,
and write models/<name>/1/model.onnx, models/<name>/config.json and models/digits/zoo.json.
Calibration and test splits are only ever evaluated, never trained on.
Needs Debian's python3-torch and python3-onnx (apt-get install -y python3-torch python3-onnx).
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
import digits_nets as nets  # noqa: E402
from digits_augment import augment  # noqa: E402
from digits_data import ROOT, load_printed, load_splits  # noqa: E402

SEED = 20240607
DEV_PER_CLASS = 50
MODELS_DIR = os.path.join(ROOT, 'models')
# digits-large members: (key, architecture in digits_nets.MEMBERS, epochs, batch). Two recipes on
# purpose: a-c are the short large-batch run, d-e a longer small-batch run (more optimiser steps).
MEMBER_PLAN = (('a', 'a', 18, 128), ('b', 'b', 18, 128), ('c', 'c', 18, 128), ('d', 'a', 24, 64), ('e', 'c', 24, 64))
ALLOWED_MID_OPS = {'Conv', 'Relu', 'MaxPool', 'Flatten', 'Gemm', 'Reshape'}


def log(msg):
    print(time.strftime('%H:%M:%S'), msg, flush=True)


def accuracy(model, data, batch=500):
    x, y = data
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def batches(x, y, size, gen):
    perm = torch.randperm(len(x), generator=gen)
    for i in range(0, len(x) - size + 1, size):  # drop the ragged tail (BatchNorm)
        idx = perm[i:i + size]
        yield x[idx], y[idx]


def make_opt(params, epochs, steps, lr):
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=steps,
                                                pct_start=0.2)
    return opt, sched


def train_member(key, arch, data, epochs, batch):
    torch.manual_seed(SEED + ord(key))
    model = nets.MEMBERS[arch]()
    x, y = data['fit']
    gen = torch.Generator().manual_seed(SEED + ord(key))
    opt, sched = make_opt(model.parameters(), epochs, len(x) // batch, 3e-3)
    for epoch in range(epochs):
        model.train()
        t0, total = time.time(), 0.0
        for xb, yb in batches(x, y, batch, gen):
            loss = F.cross_entropy(model(augment(xb)), yb, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        if epoch % 5 == 4 or epoch == epochs - 1:
            log(f'member {key} epoch {epoch + 1}/{epochs} loss {total / (len(x) // batch):.4f} '
                f'dev {accuracy(model, data["dev"]):.4f} ({time.time() - t0:.1f}s/epoch)')
    return model


def distil_students(teacher, data, epochs, batch, temperature=4.0, alpha=0.7):
    """Trains tiny and mid together on the same augmented batches and the same teacher outputs."""
    torch.manual_seed(SEED + 1)
    students = {'tiny': nets.tiny(), 'mid': nets.mid()}
    x, y = data['fit']
    gen = torch.Generator().manual_seed(SEED + 2)
    opts = {k: make_opt(m.parameters(), epochs, len(x) // batch, 4e-3) for k, m in students.items()}
    teacher.eval()
    for epoch in range(epochs):
        t0 = time.time()
        for m in students.values():
            m.train()
        for xb, yb in batches(x, y, batch, gen):
            xa = augment(xb)
            with torch.no_grad():
                soft = F.softmax(teacher(xa) / temperature, dim=1)
            for k, m in students.items():
                out = m(xa)
                kd = F.kl_div(F.log_softmax(out / temperature, dim=1), soft, reduction='batchmean')
                loss = alpha * temperature ** 2 * kd + (1 - alpha) * F.cross_entropy(out, yb)
                opt, sched = opts[k]
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
        if epoch % 5 == 4 or epoch == epochs - 1:
            devs = ' '.join(f'{k} {accuracy(m, data["dev"]):.4f}' for k, m in students.items())
            log(f'students epoch {epoch + 1}/{epochs} dev {devs} ({time.time() - t0:.1f}s/epoch)')
    return students


def export(model, name):
    path = os.path.join(MODELS_DIR, name, '1', 'model.onnx')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, input_names=['image'], output_names=['logits'],
                      dynamic_axes={'image': {0: 'batch'}, 'logits': {0: 'batch'}}, opset_version=17,
                      do_constant_folding=True)
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    ops = sorted({n.op_type for n in proto.graph.node})
    assert 'BatchNormalization' not in ops, f'{name}: BatchNorm not folded'
    if name == 'digits-mid':
        assert set(ops) <= ALLOWED_MID_OPS, f'digits-mid has ops outside {ALLOWED_MID_OPS}: {ops}'
    params = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
    return path, ops, params


CONFIG = {
    'digits-tiny': ('device', 8, 0, [1, 4, 8], 'Tiny CNN for devices'),
    'digits-mid': ('edge', 64, 2, [16, 32, 64], 'Mid-size CNN for edge boards'),
    'digits-large': ('cloud', 64, 2, [16, 32, 64], f'Ensemble of {len(MEMBER_PLAN)} CNNs averaged in one graph, for the cloud'),
}


def write_config(name, params, macs):
    tier, max_batch, delay, preferred, text = CONFIG[name]
    config = {
        'name': name,
        'tier': tier,
        'platform': 'onnxruntime_onnx',
        'description': f'{text} ({params / 1000:.1f}k params, {2 * macs / 1e6:.2f} MFLOPs)',
        'max_batch_size': max_batch,
        'inputs': [{'name': 'image', 'datatype': 'FP32', 'shape': [-1, 1, 28, 28]}],
        'outputs': [{'name': 'logits', 'datatype': 'FP32', 'shape': [-1, 10]}],
        'dynamic_batching': {'max_queue_delay_ms': delay, 'max_queue_size': 1024, 'preferred_batch_size': preferred},
        'routing': {'score': 'margin', 'threshold': None},
        'labels': [str(d) for d in range(10)],
    }
    with open(os.path.join(MODELS_DIR, name, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
        f.write('\n')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--work', default='/tmp/fogline-digits-train', help='checkpoint cache directory')
    ap.add_argument('--fresh', action='store_true', help='retrain even if checkpoints exist')
    ap.add_argument('--student-epochs', type=int, default=30)
    ap.add_argument('--batch', type=int, default=128)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(SEED)
    os.makedirs(args.work, exist_ok=True)
    data, split_seed = load_splits(DEV_PER_CLASS, SEED)
    data['printed'] = load_printed()  # out-of-distribution probe, evaluation only
    log(f'fit {len(data["fit"][1])} dev {len(data["dev"][1])} calibration {len(data["calibration"][1])} '
        f'test {len(data["test"][1])} (split seed {split_seed})')
    start, train_seconds = time.time(), 0.0
    members = []
    for key, arch, epochs, batch in MEMBER_PLAN:
        ckpt = os.path.join(args.work, f'member-{key}-{arch}-e{epochs}-b{batch}.pt')
        if os.path.exists(ckpt) and not args.fresh:
            model = nets.MEMBERS[arch]()
            saved = torch.load(ckpt)
            model.load_state_dict(saved['state_dict'])
            log(f'member {key}: loaded {ckpt} (trained in {saved["train_seconds"]:.0f}s)')
        else:
            t0 = time.time()
            model = train_member(key, arch, data, epochs, batch)
            saved = {'state_dict': model.state_dict(), 'train_seconds': time.time() - t0}
            torch.save(saved, ckpt)
        train_seconds += saved['train_seconds']
        members.append(model.eval())
    large = nets.Ensemble(members).eval()
    log(f'large dev {accuracy(large, data["dev"]):.4f}')

    ckpt = os.path.join(args.work, f'students-e{args.student_epochs}-t{len(members)}.pt')
    if os.path.exists(ckpt) and not args.fresh:
        students = {'tiny': nets.tiny(), 'mid': nets.mid()}
        saved = torch.load(ckpt)
        for k, state in saved['state_dicts'].items():
            students[k].load_state_dict(state)
        log(f'students: loaded {ckpt} (trained in {saved["train_seconds"]:.0f}s)')
    else:
        t0 = time.time()
        students = distil_students(large, data, args.student_epochs, args.batch)
        saved = {'state_dicts': {k: m.state_dict() for k, m in students.items()}, 'train_seconds': time.time() - t0}
        torch.save(saved, ckpt)
    train_seconds += saved['train_seconds']

    zoo = {'seed': SEED, 'split': 'models/digits/split.json', 'split_seed': split_seed,
           'training': {'fit': len(data['fit'][1]), 'dev_holdout_from_train': len(data['dev'][1]),
                        'members': [dict(zip(('key', 'arch', 'epochs', 'batch'), m)) for m in MEMBER_PLAN],
                        'student_epochs': args.student_epochs,
                        'batch': args.batch, 'train_wall_seconds': None},
           'models': {}}
    for name, model in (('digits-tiny', students['tiny']), ('digits-mid', students['mid']),
                        ('digits-large', large)):
        path, ops, params = export(model, name)  # params as deployed: after BatchNorm folding
        macs = nets.count_macs(model)
        write_config(name, params, macs)
        entry = {'params': params, 'macs': macs, 'flops': 2 * macs, 'onnx_bytes': os.path.getsize(path),
                 'onnx_ops': ops, 'opset': 17,
                 'accuracy': {s: round(accuracy(model, data[s]), 4) for s in ('dev', 'calibration', 'test', 'printed')}}
        zoo['models'][name] = entry
        log(f'{name}: {json.dumps(entry)}')
    zoo['models']['digits-large']['members'] = {
        key: {'arch': arch, 'trainable_params': nets.count_params(m), 'macs': nets.count_macs(m),
              'test_accuracy': round(accuracy(m, data['test']), 4),
              'printed_accuracy': round(accuracy(m, data['printed']), 4)}
        for (key, arch, _e, _b), m in zip(MEMBER_PLAN, members)}
    # Sum of the wall time of every training stage, also those loaded from the checkpoint cache.
    zoo['training']['train_wall_seconds'] = round(train_seconds)
    with open(os.path.join(MODELS_DIR, 'digits', 'zoo.json'), 'w') as f:
        json.dump(zoo, f, indent=2)
        f.write('\n')
    log(f'done in {time.time() - start:.0f}s')


if __name__ == '__main__':
    main()
