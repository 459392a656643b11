"""Seed for gpu-conv: ModelNew with the reference's operations (convolution, ReLU, bias add as
separate kernels; a correct starting point, speedup about 1). Parameters are created in the same
order and shapes as in reference.Model, so the harness's seeded construction gives both the same
weights. Fusing the ReLU and bias into the convolution's epilogue, channels-last layouts or a custom
kernel are the directions to try.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# EVOLVE-BLOCK-START
class ModelNew(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.bias = nn.Parameter(torch.randn(out_channels, 1, 1) * 0.02)

    def forward(self, x):
        y = F.conv2d(x, self.conv.weight, self.conv.bias, padding=self.conv.padding)
        return torch.relu_(y).add_(self.bias)
# EVOLVE-BLOCK-END
