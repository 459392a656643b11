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


def evaluate(candidate):
    with open(os.path.join(HERE, CONFIG['data'])) as f:
        dataset = json.load(f)
    (family, instances), = dataset.items()
    files = {'harness.py': os.path.join(HERE, 'harness.py'), 'candidate.py': os.path.abspath(candidate),
             'data.json': os.path.join(HERE, CONFIG['data'])}
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
    mean_excess = sum(excess) / len(excess)
    metrics = {'excess_pct': mean_excess, 'mean_bins': sum(bins_used) / len(bins_used), 'run_time_s': r.wall_s}
    features = {'bestfit_agreement': sum(agreement) / len(agreement), 'full_bin_frac': full_bins / sum(bins_used)}
    return result(True, metrics, features,
                  f'{family}: {mean_excess:.4f} % excess bins over the L1 bound on average '
                  f'({len(instances)} instances; Best Fit {CONFIG["bestFit"]} %, FunSearch {CONFIG["funSearch"]} %)',
                  bins_per_instance=per_instance)


if __name__ == '__main__':
    main(evaluate)
