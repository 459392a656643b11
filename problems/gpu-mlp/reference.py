"""gpu-mlp reference (KernelBench style): a two-layer MLP, Linear -> GELU -> Linear, in float32.

The sizes are module constants so that tests can shrink them; the evaluation uses these values.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False  # the reference is plain float32 (PyTorch's default for matmul)

BATCH = 2048
IN_FEATURES = 2048
HIDDEN = 8192
OUT_FEATURES = 2048


class Model(nn.Module):
    def __init__(self, in_features, hidden, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, out_features)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


def get_inputs():
    return [torch.randn(BATCH, IN_FEATURES)]


def get_init_inputs():
    return [IN_FEATURES, HIDDEN, OUT_FEATURES]
