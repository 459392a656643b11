"""Check a gpu-* problem's seed on the CPU without the GPU harness: build reference.Model and the
candidate's ModelNew from the same seed (as KernelBench does), shrink the problem via the reference
module's size constants, and compare outputs with the problem's tolerance.

usage: check_kernel_cpu.py PROBLEM_DIR CANDIDATE '{"CONSTANT": value, ...}'
Prints one JSON line: {"ok": bool, "max_abs_err": float, "shape": [...]}.
"""
import importlib.util
import json
import os
import sys


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(problem_dir, candidate, overrides):
    import torch
    ref = load('reference', os.path.join(problem_dir, 'reference.py'))
    for key, value in overrides.items():
        if not hasattr(ref, key):
            raise SystemExit(f'reference.py has no constant {key}')
        setattr(ref, key, value)
    cand = load('candidate', candidate)
    with open(os.path.join(problem_dir, 'tolerance.json')) as f:
        tol = json.load(f)
    init = ref.get_init_inputs()
    torch.manual_seed(42)
    model = ref.Model(*init)
    torch.manual_seed(42)
    model_new = cand.ModelNew(*init)
    ok, worst, shape = True, 0.0, None
    with torch.no_grad():
        for trial in range(3):
            torch.manual_seed(trial)
            inputs = ref.get_inputs()
            want = model(*inputs)
            got = model_new(*inputs)
            shape = list(want.shape)
            if got.shape != want.shape:
                ok = False
                break
            worst = max(worst, float((got - want).abs().max()))
            ok = ok and bool(torch.allclose(got, want, atol=tol['atol'], rtol=tol['rtol']))
    print(json.dumps({'ok': ok, 'max_abs_err': worst, 'shape': shape}))


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
