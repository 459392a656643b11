"""fm_kernelbench_task: the evaluator of a KernelBench task file run by FM Agent.

    from fm_kernelbench_task import main
    main(reference_path, candidate_path)   # prints the result JSON line

A KernelBench task file defines `Model`, `get_inputs()` and `get_init_inputs()`; a candidate defines
`ModelNew`. The checks and timing are the kernel harness's (fm_kernelbench.evaluate_kernel), called
with KernelBench's rule: outputs within atol = rtol = 1e-2 of Model's on 5 random input sets.

* On a GPU worker: speedup over eager PyTorch (median of 100 interleaved runs each, the primary
  metric `speedup`), then, where torch.compile works, `speedup_vs_compile` against the compiled
  reference (same weights: the compiled model wraps the task's Model, built from the same seed).
* Without a GPU (FM_GPU unset, no CUDA device), a CPU check that validates the task: at the file's
  sizes when its inputs fit in CPU_INPUT_BUDGET bytes, else with every top-level integer constant
  of 32 or more (batch_size, dim, M, N, ...) divided by the smallest power of two that makes them fit
  (never below 16), in a rewritten copy of the file. The timing is then the CPU's: it validates, it
  does not predict the GPU figure. A GPU worker whose PyTorch sees no CUDA device fails loudly.
"""
import ast
import math
import os
import re
import sys

ATOL = RTOL = 1e-2
TRIALS = 5
TIMED_RUNS = 100
CPU_INPUT_BUDGET = 16 << 20
MIN_REDUCED = 16
CUSTOM = re.compile(r'load_inline|cpp_extension|import\s+triton|from\s+triton|__global__|cupy|numba\.cuda')
FACTORIES = ('randn', 'rand', 'randint', 'zeros', 'ones', 'empty', 'full', 'normal', 'randperm', 'arange', 'linspace', 'eye')


def _load(name, path):
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tensors(x):
    import torch
    if isinstance(x, torch.Tensor):
        yield x
    elif isinstance(x, (list, tuple)):
        for v in x:
            yield from _tensors(v)


def input_bytes(path):
    """Bytes of get_inputs() at the file's sizes, measured on meta tensors (nothing allocated);
    None when the inputs cannot be made that way."""
    import torch
    saved = {n: getattr(torch, n) for n in FACTORIES if hasattr(torch, n)}

    def on_meta(fn):
        def make(*args, **kwargs):
            kwargs['device'] = 'meta'
            return fn(*args, **kwargs)
        return make
    try:
        for n, fn in saved.items():
            setattr(torch, n, on_meta(fn))
        inputs = _load('fm_kb_sizes', path).get_inputs()
        return sum(t.numel() * t.element_size() for t in _tensors(inputs))
    except Exception:
        return None
    finally:
        for n, fn in saved.items():
            setattr(torch, n, fn)


def _constant_int(node):
    """The value of an integer constant expression (4096, 16 * 1024, 2 ** 10), else None."""
    if not all(isinstance(n, (ast.Expression, ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop)) for n in ast.walk(ast.Expression(node))):
        return None
    try:
        v = eval(compile(ast.Expression(node), '<size>', 'eval'), {'__builtins__': {}})
    except Exception:
        return None
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def size_constants(source):
    """Top-level `NAME = <integer expression>` assignments of 32 or more: the task's sizes."""
    sizes = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            v = _constant_int(node.value)
            if v is not None and v >= 32:
                sizes[node.targets[0].id] = v
    return sizes


def reduced_source(source, factor):
    """The task with its size constants divided by `factor` (never below MIN_REDUCED); the new sizes."""
    tree = ast.parse(source)
    changed = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            v = _constant_int(node.value)
            if v is not None and v >= 32:
                new = max(MIN_REDUCED, v // factor)
                node.value = ast.copy_location(ast.Constant(new), node.value)
                changed[node.targets[0].id] = (v, new)
    return ast.unparse(ast.fix_missing_locations(tree)) + '\n', changed


def _reference_runs(path):
    """None when Model(*get_init_inputs()) runs on get_inputs(), else why not."""
    import torch
    try:
        ref = _load('fm_kb_cpu_probe', path)
        with torch.no_grad():
            ref.Model(*ref.get_init_inputs())(*ref.get_inputs())
        return None
    except Exception as e:
        return f'{type(e).__name__}: {e}'


def cpu_reference(reference, workdir):
    """(path of the reference to check on the CPU, a sentence saying at which sizes)."""
    mib = lambda b: f'{b / (1 << 20):.1f} MiB'
    full = input_bytes(reference)
    if full is not None and full <= CPU_INPUT_BUDGET:
        return reference, f"at the file's sizes ({mib(full)} of inputs)"
    with open(reference) as f:
        source = f.read()
    if not size_constants(source):
        return reference, "at the file's sizes (no top-level size constants to reduce)"
    factor, fitted = 1, None
    while factor < 1 << 16:
        factor *= 2
        text, changed = reduced_source(source, factor)
        path = os.path.join(workdir, f'reference_cpu_{factor}.py')
        with open(path, 'w') as f:
            f.write(text)
        b = input_bytes(path)
        if b is not None and b <= CPU_INPUT_BUDGET:
            fitted = (path, changed, b)
            break
        if all(new == MIN_REDUCED for _, new in changed.values()):
            fitted = (path, changed, b)
            break
    path, changed, b = fitted or (path, changed, b)
    why = _reference_runs(path)
    if why is not None:
        raise RuntimeError(f'the task does not run at reduced sizes on the CPU ({why}); its full sizes '
                           f'({mib(full) if full else "unknown"} of inputs) are for a GPU worker')
    sizes = ', '.join(f'{k} {old}→{new}' for k, (old, new) in changed.items() if old != new)
    return path, (f'at reduced sizes ({sizes}; {mib(b) if b is not None else "?"} of inputs instead of '
                  f'{mib(full) if full is not None else "an unknown amount"})')


# appended to the task's own source, whose Model is renamed: the harness copies a reference file alone
# into its processes, so the compiled reference must not load anything by path
COMPILED_MODEL = '''

import torch as _fm_torch


class Model(_fm_torch.nn.Module):
    """The reference under torch.compile; built like the task's Model, so it gets the same weights."""

    def __init__(self, *args):
        super().__init__()
        self.inner = FmEagerModel(*args)
        self.compiled = _fm_torch.compile(self.inner)

    def forward(self, *inputs):
        return self.compiled(*inputs)
'''


def against_compile(evaluate_kernel, reference, candidate, workdir):
    """(speedup over torch.compile, its time in ms) or (None, why not)."""
    import torch
    if not hasattr(torch, 'compile'):
        return None, f'torch.compile does not exist in PyTorch {torch.__version__}'
    path = os.path.join(workdir, 'reference_compiled.py')
    with open(reference) as f:
        source = f.read()
    with open(path, 'w') as f:
        f.write(re.sub(r'\bModel\b', 'FmEagerModel', source) + COMPILED_MODEL)
    try:
        r = evaluate_kernel(path, candidate, device='cuda', atol=ATOL, rtol=RTOL, correctness_trials=1, warmup=3, timed_runs=TIMED_RUNS)
    except Exception as e:
        return None, f'the compiled reference failed: {type(e).__name__}: {e}'
    if not r.get('valid'):
        return None, r.get('artifacts', {}).get('feedback', 'not measured')
    return r['metrics']['speedup'], r['metrics']['ref_ms']


def evaluate(reference, candidate, time_limit_s=600):
    import time
    import torch
    from fm_kernelbench import evaluate_kernel
    from fm_sandbox import work_folder
    started = time.monotonic()
    workdir = work_folder('fm-kb-')
    with open(candidate, errors='replace') as f:
        custom = 1.0 if CUSTOM.search(f.read()) else 0.0
    if torch.cuda.is_available():
        res = dict(evaluate_kernel(reference, candidate, device='cuda', atol=ATOL, rtol=RTOL, correctness_trials=TRIALS, warmup=3, timed_runs=TIMED_RUNS))
        spent = time.monotonic() - started
        # the second measurement costs about as much as the first, plus compiling: only when it fits
        if res.get('valid') and spent > 0.4 * time_limit_s:
            res['artifacts'] = {**res.get('artifacts', {}), 'torch_compile': f'speedup over torch.compile not measured: the eager check took {spent:.0f} s of the {time_limit_s:.0f} s limit'}
        elif res.get('valid'):
            speedup, detail = against_compile(evaluate_kernel, reference, candidate, workdir)
            if speedup is not None:
                res['metrics'] = {**res['metrics'], 'speedup_vs_compile': speedup, 'compile_ms': detail}
            else:
                res['artifacts'] = {**res.get('artifacts', {}), 'torch_compile': f'speedup over torch.compile not measured: {detail}'}
    elif os.environ.get('FM_GPU'):
        raise RuntimeError('this GPU worker\'s PyTorch sees no CUDA device (torch.cuda.is_available() is False): '
                           'check the driver and that PyTorch was built with CUDA')
    else:
        path, sizes = cpu_reference(reference, workdir)
        # at reduced sizes a run takes milliseconds, so 15 rounds cost little; 5 left the median at the
        # mercy of a busy machine (a seed timed against itself once read 4x faster)
        res = dict(evaluate_kernel(path, candidate, device='cpu', atol=ATOL, rtol=RTOL, correctness_trials=2, warmup=2, timed_runs=15))
        note = (f'CPU check (no GPU here) {sizes}: correctness at KernelBench\'s tolerance (atol=rtol={ATOL:g}) '
                f'on 2 random inputs (a GPU worker checks {TRIALS}); '
                'the timing is the CPU\'s and says nothing about the GPU; runs measure speedup on a GPU worker')
        res['artifacts'] = {**res.get('artifacts', {}), 'cpu_check': note}
        res['metrics'] = {**res.get('metrics', {}), 'cpu_check': 1.0}
    res['features'] = {**(res.get('features') or {}), 'custom_kernel': custom}
    return res


def main(reference, candidate, time_limit_s=600):
    import json
    sys.stdout.flush()
    real = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)  # the candidate's and the libraries' prints go to stderr; stdout holds the result only
    res = evaluate(reference, os.path.abspath(candidate), time_limit_s)

    def finite(o):
        if isinstance(o, float):
            return o if math.isfinite(o) else None
        if isinstance(o, dict):
            return {str(k): finite(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [finite(v) for v in o]
        return o
    real.write(json.dumps(finite(res), allow_nan=False, default=str) + '\n')
    real.flush()
