"""Seed for gpu-mlp: ModelNew written out with the same PyTorch operations as the reference (a correct
starting point, speedup about 1). Parameters are created in the same order and shapes as in
reference.Model, so the harness's seeded construction gives both models the same weights.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# EVOLVE-BLOCK-START
GELU_APPROXIMATE = 'none'  # 'tanh' is faster but differs from the reference by ~1e-3


class ModelNew(nn.Module):
    def __init__(self, in_features, hidden, out_features):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, out_features)

    def forward(self, x):
        h = torch.addmm(self.fc1.bias, x, self.fc1.weight.t())
        h = F.gelu(h, approximate=GELU_APPROXIMATE)
        return torch.addmm(self.fc2.bias, h, self.fc2.weight.t())
# EVOLVE-BLOCK-END
