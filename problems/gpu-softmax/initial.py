"""Seed for gpu-softmax: the numerically stable softmax spelled out in PyTorch operations (max,
subtract, exp, sum, divide): correct, but each step is its own kernel and its own pass over memory,
so it is slower than torch.softmax. A fused kernel (one read, one write) is the goal.
"""
import torch
import torch.nn as nn

# EVOLVE-BLOCK-START
class ModelNew(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        shifted = x - x.max(dim=-1, keepdim=True).values
        e = torch.exp(shifted)
        return e / e.sum(dim=-1, keepdim=True)
# EVOLVE-BLOCK-END
