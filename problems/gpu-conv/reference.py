"""gpu-conv reference (KernelBench style): 3x3 convolution, ReLU, then a learned per-channel bias,
in plain float32 (TF32 switched off below).

The sizes are module constants so that tests can shrink them; the evaluation uses these values.
"""
import torch
import torch.nn as nn

torch.backends.cudnn.allow_tf32 = False  # plain float32: cuDNN would otherwise use TF32 on recent GPUs

BATCH = 16
IN_CHANNELS = 64
OUT_CHANNELS = 128
HEIGHT = 128
WIDTH = 128
KERNEL = 3


class Model(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.bias = nn.Parameter(torch.randn(out_channels, 1, 1) * 0.02)

    def forward(self, x):
        return torch.relu(self.conv(x)) + self.bias


def get_inputs():
    return [torch.randn(BATCH, IN_CHANNELS, HEIGHT, WIDTH)]


def get_init_inputs():
    return [IN_CHANNELS, OUT_CHANNELS, KERNEL]
