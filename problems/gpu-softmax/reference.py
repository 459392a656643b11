"""gpu-softmax reference (KernelBench style): softmax over the last dimension of a float32 matrix.

The sizes are module constants so that tests can shrink them; the evaluation uses these values.
"""
import torch
import torch.nn as nn

ROWS = 4096
COLS = 16384


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.softmax(x, dim=-1)


def get_inputs():
    return [torch.randn(ROWS, COLS)]


def get_init_inputs():
    return []
