"""The digits model family. Contract for every model: input `image` FP32 [N,1,28,28] in [0,1]
(ink = 1), output `logits` FP32 [N,10]. BatchNorm follows every conv and is folded into it at export.
"""
import torch
import torch.nn as nn


def cbr(cin, cout, k=3):
    return [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def tiny():
    """~8.7k params, ~0.5M MACs: three conv stages 8/16/32, one linear layer."""
    return nn.Sequential(*cbr(1, 8), nn.MaxPool2d(2), *cbr(8, 16), nn.MaxPool2d(2), *cbr(16, 32),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 3 * 3, 10))


def mid():
    """~98k params, ~2.0M MACs. Only Conv/Relu/MaxPool/Flatten/Gemm after export (INT8-friendly)."""
    return nn.Sequential(*cbr(1, 16), nn.MaxPool2d(2), *cbr(16, 32), nn.MaxPool2d(2), *cbr(32, 64),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 3 * 3, 128), nn.ReLU(inplace=True),
                         nn.Dropout(0.2), nn.Linear(128, 10))


def _head(features):
    return [nn.Flatten(), nn.Dropout(0.3), nn.Linear(features, 128), nn.ReLU(inplace=True), nn.Dropout(0.3),
            nn.Linear(128, 10)]


def member_a():
    """Wide 3x3 stages 32/64/128: ~7.6M MACs."""
    return nn.Sequential(*cbr(1, 32), nn.MaxPool2d(2), *cbr(32, 64), nn.MaxPool2d(2), *cbr(64, 128),
                         nn.MaxPool2d(2), *_head(128 * 3 * 3))


def member_b():
    """Deeper: two 3x3 convs at 14x14 (24/48/48/96): ~8.4M MACs."""
    return nn.Sequential(*cbr(1, 24), nn.MaxPool2d(2), *cbr(24, 48), *cbr(48, 48), nn.MaxPool2d(2),
                         *cbr(48, 96), nn.MaxPool2d(2), *_head(96 * 3 * 3))


def member_c():
    """5x5 kernels in the first two stages (24/48/96), for ensemble diversity: ~8.2M MACs."""
    return nn.Sequential(*cbr(1, 24, 5), nn.MaxPool2d(2), *cbr(24, 48, 5), nn.MaxPool2d(2), *cbr(48, 96),
                         nn.MaxPool2d(2), *_head(96 * 3 * 3))


MEMBERS = {'a': member_a, 'b': member_b, 'c': member_c}


class Ensemble(nn.Module):
    """digits-large: members averaged inside one graph. Output logits = mean of member log-softmax
    (a normalised geometric mean of the members' probabilities)."""

    def __init__(self, members):
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x):
        out = torch.log_softmax(self.members[0](x), dim=1)
        for m in self.members[1:]:
            out = out + torch.log_softmax(m(x), dim=1)
        return out / len(self.members)


def count_macs(model):
    """Multiply-accumulates of every Conv2d and Linear for one 28x28 image."""
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
        model(torch.zeros(1, 1, 28, 28))
    model.train(was_training)
    for h in hooks:
        h.remove()
    return total[0]


def count_params(model):
    return sum(p.numel() for p in model.parameters())
