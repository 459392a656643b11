"""Online bin packing as in FunSearch (Romera-Paredes et al., Nature 2023); shared by the bin-packing-*
problems (master copy: problems/_common/binpacking/evaluator.py; dataset.json names the instances).

The candidate's priority(item, bins) scores the bins an item fits in; the item goes to the first
highest-scoring bin.

harness.py runs FunSearch's packing loop in a child process (fm_evalkit.run_untrusted: the worker's
child sandbox; candidate code is never imported here) and reports the bin chosen for every item. This process replays those choices with its own
bookkeeping: every choice must be a bin with room for the item, or the candidate is invalid.
Score: excess_pct = mean over instances of (bins used - L1) / L1 * 100, L1 = ceil(sum(items) / capacity).
"""
import heapq
import json
import math
import os
import shutil
import sys

from fm_draw import Plot, Svg, image
from fm_evalkit import CandidateError, main, result, run_untrusted, tail

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, 'dataset.json')) as _f:
    CONFIG = json.load(_f)


def replay(inst, picked):
    """Check one instance's choices; return (bins used, full bins, Best Fit agreement)."""
    cap, items = inst['capacity'], inst['items']
    n = inst['num_items']
    if len(picked) != len(items):
        raise CandidateError(f'the packing loop reported {len(picked)} choices for {len(items)} items')
    rem = [cap] * n
    # Best Fit's choice for the same state, for the agreement feature: buckets of bins by remaining
    # room (a bitmask of non-empty buckets, lazy heaps of bin indices), so each step is O(log n)
    count = [0] * (cap + 1)
    count[cap] = n
    mask = 1 << cap
    heaps = [[] for _ in range(cap + 1)]
    heaps[cap] = list(range(n))
    agree = 0
    for step, (item, c) in enumerate(zip(items, picked)):
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n:
            raise CandidateError(f'item {step}: bin index {c!r} is out of range')
        if rem[c] < item:
            raise CandidateError(f'item {step} (size {item}) was put in bin {c}, which had only {rem[c]} left')
        fits = mask >> item
        room = (fits & -fits).bit_length() - 1 + item
        h = heaps[room]
        while rem[h[0]] != room:
            heapq.heappop(h)
        agree += h[0] == c
        old, new = rem[c], rem[c] - item
        rem[c] = new
        count[old] -= 1
        if count[old] == 0:
            mask &= ~(1 << old)
        count[new] += 1
        mask |= 1 << new
        heapq.heappush(heaps[new], c)
    used = sum(1 for r in rem if r != cap)
    full = sum(1 for r in rem if r == 0)
    return used, full, agree / len(items)


def fills(inst, picked):
    """How full each used bin ends, as a fraction of the capacity."""
    load = {}
    for item, c in zip(inst['items'], picked):
        load[c] = load.get(c, 0) + item
    return [v / inst['capacity'] for v in load.values()]


def draw(family, first, first_fill, all_fill, l1):
    """One instance's bins, fullest first (the space left in red), and how full the bins of every instance end."""
    s = Svg(560, 450)
    ranked = sorted(first_fill, reverse=True)
    top = Plot(s, 56, 26, 484, 150, (0, len(ranked)), (0, 1))
    top.axes(ylabel='fill', yticks=[0, 0.5, 1], xticks=[])
    # above the fill, the space left; thousands of bins are drawn as 300 columns of their mean fill
    cols = ranked if len(ranked) <= 300 else [sum(ranked[k * len(ranked) // 300:(k + 1) * len(ranked) // 300]) /
                                               max(1, (k + 1) * len(ranked) // 300 - k * len(ranked) // 300) for k in range(300)]
    s.rect(top.x(0), top.y(1), top.w, top.h, fill='#f3b4b4')
    top.steps(cols, 0.0, len(ranked) / len(cols), fill='#1a988c', fill_opacity=1, stroke='none')
    s.text(56, 18, f'{first}: {len(ranked)} bins used, L1 bound {l1}; space left in red', size=12)
    counts = [0] * 20
    for f in all_fill:
        counts[min(19, int(f * 20 + 1e-9))] += 1
    hi = max(counts) or 1
    bottom = Plot(s, 56, 246, 484, 150, (0, 1), (0, hi * 1.05))
    bottom.axes(xlabel='fill of a bin at the end', xticks=[0, 0.25, 0.5, 0.75, 1])
    for k, c in enumerate(counts):
        s.rect(bottom.x(k / 20) + 1, bottom.y(c), bottom.w / 20 - 2, bottom.y(0) - bottom.y(c), fill='#1f6feb' if k < 19 else '#1a988c')
    s.text(56, 238, f'all {family} instances: bins by how full they end (last column: full or nearly)', size=12)
    return image(s)


def held_out_dataset():
    """The held-out stage (FM_HELD_OUT=1): fresh instances from FunSearch's Weibull generator (shape 3,
    scale 45, rounded, clipped to [1, capacity]) with seeds the search never saw (BINPACK_HELD_OUT_SEEDS)."""
    import numpy as np
    seeds = [int(s) for s in os.environ['BINPACK_HELD_OUT_SEEDS'].split(',')]
    n = int(os.environ.get('BINPACK_HELD_OUT_ITEMS', '5000'))
    cap = 100
    instances = {}
    for seed in seeds:
        items = np.clip(np.rint(np.random.default_rng(seed).weibull(3.0, n) * 45), 1, cap).astype(int).tolist()
        instances[f'seed_{seed}'] = {'capacity': cap, 'num_items': n, 'items': items}
    return {'Weibull held-out': instances}


def evaluate(candidate):
    data_path = os.path.join(HERE, CONFIG['data'])
    if os.environ.get('FM_HELD_OUT') == '1' and os.environ.get('BINPACK_HELD_OUT_SEEDS'):
        import tempfile
        dataset = held_out_dataset()
        fd, data_path = tempfile.mkstemp(suffix='.json')
        with os.fdopen(fd, 'w') as f:
            json.dump(dataset, f)
    else:
        with open(data_path) as f:
            dataset = json.load(f)
    (family, instances), = dataset.items()
    files = {'harness.py': os.path.join(HERE, 'harness.py'), 'candidate.py': os.path.abspath(candidate),
             'data.json': data_path}
    r = run_untrusted([sys.executable, 'harness.py', 'candidate.py', 'data.json', 'choices.json'],
                      timeout=CONFIG['candidateTimeoutS'], files=files)
    logs = {'stdout': tail(r.stdout), 'stderr': tail(r.stderr)}
    out_path = os.path.join(r.workdir, 'choices.json')
    try:
        if r.timed_out:
            raise CandidateError(f'packing all {family} instances took longer than {CONFIG["candidateTimeoutS"]} s '
                                 '(priority() is called once per item: keep it vectorized)', **logs)
        if not os.path.isfile(out_path):
            raise CandidateError(f'the packing process ended (exit code {r.returncode}) without a result', **logs)
        with open(out_path) as f:
            try:
                out = json.load(f)
            except ValueError as e:
                raise CandidateError(f'unreadable packing result: {e}', **logs)
    finally:
        shutil.rmtree(r.workdir, ignore_errors=True)
    if not isinstance(out, dict):
        raise CandidateError('unreadable packing result: not an object', **logs)
    if not out.get('ok'):
        raise CandidateError('priority() failed: ' + str(out.get('error')), **logs)
    choices = out.get('choices') or {}
    excess, bins_used, full_bins, agreement = [], [], 0, []
    per_instance = {}
    all_fill = []
    for name, inst in instances.items():
        if name not in choices or not isinstance(choices[name], list):
            raise CandidateError(f'no choices reported for instance {name}')
        used, full, agree = replay(inst, choices[name])
        l1 = math.ceil(sum(inst['items']) / inst['capacity'])
        excess.append((used - l1) / l1 * 100.0)
        bins_used.append(used)
        full_bins += full
        agreement.append(agree)
        per_instance[name] = used
        all_fill += fills(inst, choices[name])
    mean_excess = sum(excess) / len(excess)
    first = next(iter(instances))
    metrics = {'excess_pct': mean_excess, 'mean_bins': sum(bins_used) / len(bins_used), 'run_time_s': r.wall_s}
    features = {'bestfit_agreement': sum(agreement) / len(agreement), 'full_bin_frac': full_bins / sum(bins_used)}
    return result(True, metrics, features,
                  f'{family}: {mean_excess:.4f} % excess bins over the L1 bound on average '
                  f'({len(instances)} instances; Best Fit {CONFIG["bestFit"]} %, FunSearch {CONFIG["funSearch"]} %)',
                  bins_per_instance=per_instance,
                  bins=draw(family, first, fills(instances[first], choices[first]), all_fill,
                            math.ceil(sum(instances[first]['items']) / instances[first]['capacity'])))


if __name__ == '__main__':
    main(evaluate)
