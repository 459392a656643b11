#!/usr/bin/env bash
# GPU check of the evaluation workers (issue 4). Run from anywhere on a machine with an NVIDIA GPU and a
# CUDA build of PyTorch; it needs nothing else (no database). Prints figures; takes under 4 minutes.
#   1. the GPU and PyTorch
#   2. the KernelBench harness (workers/python/fm_kernelbench.py) on two small problems' seeds,
#      gpu-softmax and gpu-mlp: correctness on 5 random inputs, then timing by the harness's clock around
#      each call to the candidate's own process (median of 20, every timed output checked)
#   3. an inline-CUDA candidate (torch.utils.cpp_extension.load_inline) for gpu-softmax: compile + check
#   4. when node_modules is present: gpu-softmax's seed through the whole worker path (sandbox included),
#      then a KernelBench task file's seed (test-support/problems/kernelbench) the same way
# Set FM_PYTHON to the interpreter that has CUDA PyTorch if it is not /usr/bin/python3 or python3.
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/workers/python${PYTHONPATH:+:$PYTHONPATH}"
t0=$(date +%s)
say() { printf '\n=== %s (t+%ss)\n' "$*" "$(( $(date +%s) - t0 ))"; }

PY=""
for c in ${FM_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$c" >/dev/null 2>&1 && timeout 60 "$c" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then PY=$(command -v "$c"); break; fi
done
say "GPU"
timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi not available"
if [ -z "$PY" ]; then echo "no python with CUDA PyTorch found (tried \$FM_PYTHON, /usr/bin/python3, python3): stopping"; exit 1; fi
timeout 60 "$PY" -c 'import torch; print("python", __import__("sys").version.split()[0], "| torch", torch.__version__, "| cuda", torch.version.cuda, "|", torch.cuda.get_device_name(0))'

say "harness on the seeds (full problem sizes)"
timeout 80 "$PY" - <<'PYEOF'
import json, time
from fm_kernelbench import evaluate_kernel
for p in ('gpu-softmax', 'gpu-mlp'):
    tol = json.load(open(f'problems/{p}/tolerance.json'))
    t = time.time()
    r = evaluate_kernel(f'problems/{p}/reference.py', f'problems/{p}/initial.py', atol=tol['atol'], rtol=tol['rtol'])
    m = r['metrics']
    print(f"{p:12s} valid={r['valid']} speedup={m.get('speedup')} ref_ms={m.get('ref_ms')} new_ms={m.get('new_ms')} "
          f"max_abs_err={m.get('max_abs_err')} ({time.time() - t:.1f} s)")
    if not r['valid']:
        print('   ', r['artifacts'].get('feedback'))
PYEOF

say "inline CUDA candidate (load_inline compile + check), gpu-softmax"
tmp=$(mktemp -d)
cat > "$tmp/cand.py" <<'PYEOF'
import torch, torch.nn as nn
from torch.utils.cpp_extension import load_inline
cuda_src = r'''
#include <torch/extension.h>
__global__ void row_softmax(const float* x, float* y, int cols) {
  const float* xr = x + (long)blockIdx.x * cols; float* yr = y + (long)blockIdx.x * cols;
  __shared__ float red[256];
  float m = -INFINITY; for (int j = threadIdx.x; j < cols; j += blockDim.x) m = fmaxf(m, xr[j]);
  red[threadIdx.x] = m; __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) { if (threadIdx.x < s) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]); __syncthreads(); }
  m = red[0]; __syncthreads();
  float sum = 0.f; for (int j = threadIdx.x; j < cols; j += blockDim.x) sum += expf(xr[j] - m);
  red[threadIdx.x] = sum; __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) { if (threadIdx.x < s) red[threadIdx.x] += red[threadIdx.x + s]; __syncthreads(); }
  sum = red[0];
  for (int j = threadIdx.x; j < cols; j += blockDim.x) yr[j] = expf(xr[j] - m) / sum;
}
torch::Tensor softmax_rows(torch::Tensor x) {
  auto y = torch::empty_like(x); int rows = x.size(0), cols = x.size(1);
  row_softmax<<<rows, 256>>>(x.data_ptr<float>(), y.data_ptr<float>(), cols); return y;
}
'''
ext = load_inline('fm_gpu_check_softmax', cpp_sources='torch::Tensor softmax_rows(torch::Tensor x);', cuda_sources=cuda_src,
                  functions=['softmax_rows'], verbose=False)
class ModelNew(nn.Module):
    def forward(self, x):
        return ext.softmax_rows(x.contiguous())
PYEOF
TORCH_EXTENSIONS_DIR="$tmp/ext" timeout 100 "$PY" - "$tmp/cand.py" <<'PYEOF'
import json, sys, time
from fm_kernelbench import evaluate_kernel
t = time.time()
r = evaluate_kernel('problems/gpu-softmax/reference.py', sys.argv[1], atol=1e-3, rtol=1e-3)
m = r['metrics']
print(f"inline-cuda  valid={r['valid']} speedup={m.get('speedup')} ref_ms={m.get('ref_ms')} new_ms={m.get('new_ms')} "
      f"max_abs_err={m.get('max_abs_err')} ({time.time() - t:.1f} s incl. compile)")
if not r['valid']:
    print('   ', str(r['artifacts'].get('feedback'))[:600])
PYEOF
rm -rf "$tmp"

if [ -d node_modules/tsx ]; then
  say "through the worker (bundle, sandbox, evaluator, harness): gpu-softmax seed"
  FM_PYTHON="$PY" timeout 50 node --import tsx workers/gpu-check-runner.ts problems/gpu-softmax
  say "a KernelBench task file through the worker: speedup over eager PyTorch and torch.compile"
  FM_PYTHON="$PY" timeout 170 node --import tsx workers/gpu-check-runner.ts test-support/problems/kernelbench/23_Scaled_GELU_RowSum.py
else
  say "worker path skipped: no node_modules here (npm ci first to include it)"
fi
say "done"
