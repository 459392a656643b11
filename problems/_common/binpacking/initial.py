"""Seed for the bin-packing problems: Best Fit, written with the knobs a better heuristic may turn.

priority(item, bins) gets the size of the arriving item and the remaining capacities of the bins it
fits in (a numpy int array; unused bins are at full capacity) and returns one score per bin; the
item goes to the first bin with the highest score. With the values below the scores rank bins
exactly as Best Fit does (FunSearch's starting point): the tightest fit wins.
"""
import numpy as np

# EVOLVE-BLOCK-START
GAP_WEIGHT = 1.0          # weight of the room left in the bin after placing the item (less is better)
GAP_POWER = 1.0           # > 1 punishes loose fits more than tight ones
SMALL_GAP = 0.5           # a leftover in (0, SMALL_GAP] is probably wasted for good ...
SMALL_GAP_PENALTY = 2.0   # ... and costs this much (inactive while SMALL_GAP < 1: gaps are integers)


def priority(item, bins):
    gap = (bins - item).astype(float)
    score = -GAP_WEIGHT * gap ** GAP_POWER
    score -= SMALL_GAP_PENALTY * ((gap > 0) & (gap <= SMALL_GAP))
    return score
# EVOLVE-BLOCK-END
