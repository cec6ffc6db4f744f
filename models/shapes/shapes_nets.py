"""The shapes model family: three CNNs on the same prepared input, NCHW FP32 [N, 3, 32, 32]
(x = (pixel / 255 - mean[c]) / std[c], RGB), one answer over the 4 LABELS of make_shapes.py.
BatchNorm follows every conv and is folded into it at export. shapes-tiny and shapes-mid output
logits; shapes-large ends in a softmax and outputs probabilities.
"""
import torch
import torch.nn as nn

CLASSES = 4


def cbr(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def tiny(widths=(4, 8, 12)):
    """Convs 4/8/12, three 2x2 pools (32 -> 4), one linear layer: ~2k params."""
    a, b, c = widths
    return nn.Sequential(*cbr(3, a), nn.MaxPool2d(2), *cbr(a, b), nn.MaxPool2d(2), *cbr(b, c),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(c * 4 * 4, CLASSES))


def mid():
    """Convs 8/16/32, three pools, linear 512 -> 32 -> 4: ~23k params."""
    return nn.Sequential(*cbr(3, 8), nn.MaxPool2d(2), *cbr(8, 16), nn.MaxPool2d(2), *cbr(16, 32),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 32), nn.ReLU(inplace=True),
                         nn.Dropout(0.2), nn.Linear(32, CLASSES))


class Large(nn.Module):
    """Convs 24/48/96/96 (two at 8x8), linear 1536 -> 128 -> 4, softmax inside the graph: ~330k params."""

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(*cbr(3, 24), nn.MaxPool2d(2), *cbr(24, 48), nn.MaxPool2d(2), *cbr(48, 96),
                                 *cbr(96, 96), nn.MaxPool2d(2), nn.Flatten(),
                                 nn.Dropout(0.3), nn.Linear(96 * 4 * 4, 128), nn.ReLU(inplace=True),
                                 nn.Dropout(0.3), nn.Linear(128, CLASSES))
        self.emit_probabilities = True

    def forward(self, x):
        logits = self.net(x)
        # Train on logits (cross-entropy); the exported graph answers probabilities.
        return torch.softmax(logits, dim=1) if self.emit_probabilities else logits


def large():
    return Large()


NETS = {'shapes-tiny': tiny, 'shapes-mid': mid, 'shapes-large': large}


def count_macs(model):
    """Multiply-accumulates of every Conv2d and Linear for one 3x32x32 image."""
    total = [0]

    def hook(mod, _inp, out):
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1] * (mod.in_channels // mod.groups)
            total[0] += out[0].numel() * k
        elif isinstance(mod, nn.Linear):
            total[0] += mod.in_features * mod.out_features

    hooks = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    was_training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return total[0]
