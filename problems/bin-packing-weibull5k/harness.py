"""Child side of the bin-packing evaluator (master copy: problems/_common/binpacking/harness.py):
FunSearch's online packing loop around the candidate's priority(item, bins). It runs in the
candidate's process, so nothing here is trusted: the parent (evaluator.py) replays every choice and
counts the bins itself.

usage: harness.py <candidate.py> <dataset.json> <output.json>
The loop is the one of FunSearch's bin_packing notebook: each instance starts with num_items bins at
full capacity; for every item, in order, priority() scores the bins the item fits in and the item
goes to the first bin of highest priority.
"""
import json
import sys
import traceback


def run(candidate_path, dataset_path, output_path):
    out = {'ok': False}
    try:
        sys.stdout = sys.stderr
        import importlib.util
        import numpy as np
        spec = importlib.util.spec_from_file_location('candidate', candidate_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules['candidate'] = module
        spec.loader.exec_module(module)
        priority = getattr(module, 'priority', None)
        if not callable(priority):
            raise AttributeError('the candidate defines no function priority(item, bins)')
        with open(dataset_path) as f:
            dataset = json.load(f)
        (family, instances), = dataset.items()
        choices = {}
        for name, inst in instances.items():
            bins = np.array([inst['capacity'] for _ in range(inst['num_items'])])
            picked = []
            for step, item in enumerate(inst['items']):
                valid = np.nonzero((bins - item) >= 0)[0]
                scores = np.asarray(priority(item, bins[valid]))
                if scores.shape != valid.shape:
                    raise ValueError(f'{name}, item {step} (size {item}): priority() returned shape {scores.shape} '
                                     f'for {len(valid)} bins; it must return one score per bin')
                if not np.all(np.isfinite(scores)):
                    raise ValueError(f'{name}, item {step} (size {item}): priority() returned NaN or infinite scores')
                best = int(valid[np.argmax(scores)])
                bins[best] -= item
                picked.append(best)
            choices[name] = picked
        out = {'ok': True, 'choices': choices}
    except BaseException as e:
        out = {'ok': False, 'error': f'{type(e).__name__}: {e}\n' + traceback.format_exc()[-2500:]}
    with open(output_path, 'w') as f:
        json.dump(out, f)


if __name__ == '__main__':
    run(*sys.argv[1:4])
