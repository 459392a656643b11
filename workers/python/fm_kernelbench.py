"""fm_kernelbench: KernelBench-style checking and timing of a candidate PyTorch model against a reference.

    from fm_kernelbench import evaluate_kernel
    result = evaluate_kernel(reference_path, candidate_path, *, device=None, atol=1e-4, rtol=1e-4,
                             correctness_trials=5, warmup=3, timed_runs=20)

The reference module defines `Model`, `get_inputs()` and `get_init_inputs()`; the candidate defines
`ModelNew` with the same constructor arguments and forward signature (inline CUDA through
torch.utils.cpp_extension.load_inline is allowed). Both models are built from the same seed, so a
ModelNew that creates the same parameters in the same order gets the same weights (KernelBench's rule).

1. correctness: `correctness_trials` random input sets (seeded, from get_inputs()); outputs must have the
   reference's shape and satisfy |new - ref| <= atol + rtol * |ref| everywhere (torch.allclose); NaN or inf
   where the reference is finite fails.
2. timing (only when correct): `warmup` runs each, then `timed_runs` runs of each model, interleaved
   (reference, candidate, reference, …) so drift hits both alike; CUDA events on a GPU, perf_counter on the
   CPU; the medians give ref_ms, new_ms and speedup = ref_ms / new_ms.

Returns the evaluator's JSON object: {"valid", "metrics": {speedup, ref_ms, new_ms, max_abs_err,
max_rel_err, correct_trials}, "features": {}, "artifacts": {feedback, device, …}}. Every failure of the
candidate (import or compile error, missing ModelNew, an exception in forward, wrong shape or values) is an
invalid result with the reason in artifacts.feedback; nothing is raised for those.
"""
import importlib.util
import math
import os
import statistics
import sys
import time
import traceback

MAX_TEXT = 4000
SEED = 42


def _tail(text, limit=MAX_TEXT):
    text = text or ''
    return text if len(text) <= limit else '...' + text[-limit:]


def _invalid(feedback, **artifacts):
    arts = {'feedback': feedback}
    arts.update({k: (_tail(v) if isinstance(v, str) else v) for k, v in artifacts.items()})
    return {'valid': False, 'metrics': {}, 'features': {}, 'artifacts': arts}


def _load(name, path):
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _to_device(x, device):
    import torch
    if isinstance(x, torch.Tensor):
        return x.to(device)
    if isinstance(x, (list, tuple)):
        return type(x)(_to_device(v, device) for v in x)
    return x


def _flatten(out):
    import torch
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, (list, tuple)):
        flat = []
        for o in out:
            flat.extend(_flatten(o))
        return flat
    raise TypeError(f'the model returned {type(out).__name__}, not a tensor or a tuple of tensors')


def _compare(ref_out, new_out, atol, rtol):
    """(ok, max_abs_err, max_rel_err, reason)"""
    import torch
    refs, news = _flatten(ref_out), _flatten(new_out)
    if len(refs) != len(news):
        return False, math.inf, math.inf, f'ModelNew returned {len(news)} tensor(s), the reference {len(refs)}'
    worst_abs, worst_rel = 0.0, 0.0
    for i, (r, n) in enumerate(zip(refs, news)):
        if tuple(r.shape) != tuple(n.shape):
            return False, math.inf, math.inf, f'output {i}: shape {tuple(n.shape)}, expected {tuple(r.shape)}'
        r64, n64 = r.detach().double(), n.detach().to(r.device).double()
        if not torch.isfinite(n64[torch.isfinite(r64)]).all():
            return False, math.inf, math.inf, f'output {i}: NaN or inf where the reference is finite'
        diff = (n64 - r64).abs()
        diff = torch.where(torch.isfinite(diff), diff, torch.zeros_like(diff))
        if diff.numel():
            worst_abs = max(worst_abs, float(diff.max()))
            worst_rel = max(worst_rel, float((diff / r64.abs().clamp_min(1e-12)).max()))
        if not torch.allclose(n64, r64, atol=atol, rtol=rtol, equal_nan=True):
            return False, worst_abs, worst_rel, f'output {i}: values differ beyond atol={atol:g}, rtol={rtol:g} (max abs error {worst_abs:.3g})'
    return True, worst_abs, worst_rel, ''


def _timer(device):
    import torch
    if device.type == 'cuda':
        def run(fn):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize(device)
            return start.elapsed_time(end)
        return run

    def run_cpu(fn):
        t = time.perf_counter()
        fn()
        return (time.perf_counter() - t) * 1000.0
    return run_cpu


def evaluate_kernel(reference_path, candidate_path, *, device=None, atol=1e-4, rtol=1e-4,
                    correctness_trials=5, warmup=3, timed_runs=20):
    import torch

    dev = torch.device(device or ('cuda' if torch.cuda.is_available() else 'cpu'))
    arts = {'device': str(dev)}
    if dev.type == 'cuda':
        arts['gpu'] = torch.cuda.get_device_name(dev)
    try:
        ref = _load('fm_kb_reference', reference_path)
    except Exception:
        raise RuntimeError('the reference module does not load (a problem bug, not the candidate\'s):\n' + traceback.format_exc())
    try:
        cand = _load('fm_kb_candidate', candidate_path)
    except Exception as e:
        return _invalid(f'the candidate does not import (or its inline kernel does not compile): {type(e).__name__}: {e}',
                        traceback=traceback.format_exc(), **arts)
    if not hasattr(cand, 'ModelNew'):
        return _invalid('the candidate defines no class ModelNew', **arts)

    init = ref.get_init_inputs()
    try:
        torch.manual_seed(SEED)
        if dev.type == 'cuda':
            torch.cuda.manual_seed_all(SEED)
        model = ref.Model(*init).to(dev).eval()
        torch.manual_seed(SEED)
        if dev.type == 'cuda':
            torch.cuda.manual_seed_all(SEED)
        model_new = cand.ModelNew(*init).to(dev).eval()
    except Exception as e:
        return _invalid(f'ModelNew(*get_init_inputs()) failed: {type(e).__name__}: {e}', traceback=traceback.format_exc(), **arts)

    max_abs, max_rel = 0.0, 0.0
    with torch.no_grad():
        for trial in range(correctness_trials):
            torch.manual_seed(1000 + trial)
            inputs = _to_device(ref.get_inputs(), dev)
            want = model(*inputs)
            try:
                got = model_new(*inputs)
                if dev.type == 'cuda':
                    torch.cuda.synchronize(dev)  # surface asynchronous kernel errors here
            except Exception as e:
                return _invalid(f'ModelNew.forward raised on trial {trial + 1}: {type(e).__name__}: {e}',
                                traceback=traceback.format_exc(), **arts)
            try:
                ok, a, r, reason = _compare(want, got, atol, rtol)
            except TypeError as e:
                return _invalid(str(e), **arts)
            max_abs, max_rel = max(max_abs, a), max(max_rel, r)
            if not ok:
                res = _invalid(f'incorrect on random input {trial + 1} of {correctness_trials}: {reason}', **arts)
                res['metrics'] = {'max_abs_err': max_abs if math.isfinite(max_abs) else None,
                                  'max_rel_err': max_rel if math.isfinite(max_rel) else None,
                                  'correct_trials': float(trial)}
                return res

        torch.manual_seed(2000)
        inputs = _to_device(ref.get_inputs(), dev)
        timer = _timer(dev)
        try:
            for _ in range(warmup):
                model(*inputs)
                model_new(*inputs)
            if dev.type == 'cuda':
                torch.cuda.synchronize(dev)
            ref_times, new_times = [], []
            for _ in range(timed_runs):
                ref_times.append(timer(lambda: model(*inputs)))
                new_times.append(timer(lambda: model_new(*inputs)))
        except Exception as e:
            return _invalid(f'ModelNew failed while being timed: {type(e).__name__}: {e}', traceback=traceback.format_exc(), **arts)

    ref_ms, new_ms = statistics.median(ref_times), statistics.median(new_times)
    speedup = ref_ms / new_ms if new_ms > 0 else None
    arts['feedback'] = (f'correct on {correctness_trials} random inputs (max abs error {max_abs:.3g}); '
                        f'median of {timed_runs} runs on {arts.get("gpu", str(dev))}: reference {ref_ms:.4g} ms, '
                        f'candidate {new_ms:.4g} ms, speedup {speedup:.3f}' if speedup else 'correct')
    arts['timing_ms'] = {'reference': [round(t, 5) for t in ref_times], 'candidate': [round(t, 5) for t in new_times]}
    return {
        'valid': speedup is not None and math.isfinite(speedup),
        'metrics': {'speedup': speedup, 'ref_ms': ref_ms, 'new_ms': new_ms, 'max_abs_err': max_abs,
                    'max_rel_err': max_rel, 'correct_trials': float(correctness_trials)},
        'features': {},
        'artifacts': arts,
    }


if __name__ == '__main__':
    import argparse
    import json

    p = argparse.ArgumentParser(description='check and time a KernelBench-style candidate')
    p.add_argument('reference')
    p.add_argument('candidate')
    p.add_argument('--device')
    p.add_argument('--atol', type=float, default=1e-4)
    p.add_argument('--rtol', type=float, default=1e-4)
    p.add_argument('--trials', type=int, default=5)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--runs', type=int, default=20)
    a = p.parse_args()
    print(json.dumps(evaluate_kernel(a.reference, a.candidate, device=a.device, atol=a.atol, rtol=a.rtol,
                                     correctness_trials=a.trials, warmup=a.warmup, timed_runs=a.runs)))
