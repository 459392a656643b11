"""fm_sandbox: a child sandbox for evaluators that hold private data (held-out labels, private seeds).

    from fm_sandbox import run_candidate
    r = run_candidate(cmd, *, stdin=None, timeout, files=None, cwd_files_readonly=True)
    r.returncode, r.stdout (bytes), r.stderr (bytes), r.timed_out (bool), r.workdir

`cmd` runs in a fresh work directory holding only `files` (name in the work dir -> a path the evaluator
can read), copied in. Under an FM Agent worker (FM_CHILD_SANDBOX set by the worker) the command runs in a
nested bubblewrap sandbox: new user, pid, network, mount, ipc and uts namespaces; read-only root; the
whole evaluation folder (the problem copy with its private files, the evaluator's output files) masked
by an empty tmpfs; only the work directory writable; `files` bind-mounted read-only when
`cwd_files_readonly`; its own /tmp; every process killed at the timeout or when the command ends (pid
namespace). The evaluator's rlimits (CPU, address space, processes, file size) still apply.

Outside a worker (FM_CHILD_SANDBOX unset), or where the worker found that nesting does not work, it runs
the command as a plain subprocess in the work directory and says so on stderr: nothing is hidden then.

stdout and stderr are kept up to 16 MiB each (the rest is read and dropped, so the command never blocks).
"""
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

__all__ = ['run_candidate', 'child_sandbox_available']

MAX_OUTPUT = 16 * 1024 * 1024
_warned = False


def _config():
    raw = os.environ.get('FM_CHILD_SANDBOX')
    if not raw:
        return None
    try:
        cfg = json.loads(raw)
    except ValueError:
        return None
    return cfg if isinstance(cfg, dict) else None


def child_sandbox_available():
    cfg = _config()
    return bool(cfg and cfg.get('mode') == 'bwrap' and cfg.get('bwrap'))


def _warn(msg):
    global _warned
    if not _warned:
        _warned = True
        print(f'fm_sandbox: {msg}', file=sys.stderr)


def _child_env(cfg, workdir):
    env = {k: v for k, v in os.environ.items() if not k.startswith('FM_')}
    env.update((cfg or {}).get('env') or {})
    env['HOME'] = workdir
    env['TMPDIR'] = '/tmp'
    env['PWD'] = workdir
    return env


def _copy_files(files, workdir, readonly):
    placed = []
    for name, src in (files or {}).items():
        rel = os.path.normpath(name)
        if rel.startswith('..') or os.path.isabs(rel):
            raise ValueError(f'run_candidate: file name {name!r} must stay inside the work directory')
        dst = os.path.join(workdir, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.isdir(src):
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o444 if readonly else 0o644)
        placed.append(dst)
    return placed


def _bwrap_argv(cfg, cmd, workdir, placed, readonly):
    argv = [cfg['bwrap'], '--unshare-all', '--die-with-parent', '--new-session', '--hostname', 'fm-child',
            '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--tmpfs', '/tmp', '--tmpfs', '/dev/shm']
    for path in cfg.get('hide') or []:
        if os.path.isdir(path):
            argv += ['--tmpfs', path]
        elif os.path.exists(path):
            argv += ['--ro-bind', '/dev/null', path]
    argv += ['--bind', workdir, workdir]
    if readonly:
        for dst in placed:
            argv += ['--ro-bind', dst, dst]
    argv += ['--chdir', workdir, '--']
    return argv + list(cmd)


def _communicate(proc, stdin, deadline):
    """Feeds stdin, drains stdout/stderr (bounded), returns (out, err, timed_out)."""
    bufs = {proc.stdout.fileno(): bytearray(), proc.stderr.fileno(): bytearray()}
    readers = set(bufs)
    writer = proc.stdin.fileno() if proc.stdin else None
    pending = memoryview(stdin or b'')
    if writer is not None and not pending:
        proc.stdin.close()
        writer = None
    timed_out = False
    while readers or writer is not None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        r, w, _ = select.select(list(readers), [writer] if writer is not None else [], [], min(remaining, 1.0))
        for fd in r:
            chunk = os.read(fd, 65536)
            if not chunk:
                readers.discard(fd)
            elif len(bufs[fd]) < MAX_OUTPUT:
                bufs[fd] += chunk[: MAX_OUTPUT - len(bufs[fd])]
        if w:
            try:
                n = os.write(writer, pending[:65536])
                pending = pending[n:]
            except BrokenPipeError:
                pending = pending[:0]
            if not pending:
                proc.stdin.close()
                writer = None
    if not timed_out:
        remaining = deadline - time.monotonic()
        try:
            proc.wait(timeout=max(0.0, remaining))
        except subprocess.TimeoutExpired:
            timed_out = True
    return bytes(bufs[proc.stdout.fileno()]), bytes(bufs[proc.stderr.fileno()]), timed_out


def run_candidate(cmd, *, stdin=None, timeout, files=None, cwd_files_readonly=True):
    if isinstance(cmd, (str, bytes)):
        raise TypeError('run_candidate: cmd is a list of arguments, not a string')
    cfg = _config()
    root = (cfg or {}).get('root')
    if root:
        os.makedirs(root, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix='run-', dir=root or None)
    placed = _copy_files(files, workdir, cwd_files_readonly)
    if cfg and cfg.get('mode') == 'bwrap' and cfg.get('bwrap'):
        argv = _bwrap_argv(cfg, cmd, workdir, placed, cwd_files_readonly)
    else:
        reason = (cfg or {}).get('reason') or 'not running under an FM Agent worker (FM_CHILD_SANDBOX is unset)'
        _warn(f'running the candidate WITHOUT a child sandbox: {reason}')
        argv = list(cmd)
    started = time.monotonic()
    proc = subprocess.Popen(argv, cwd=workdir, env=_child_env(cfg, workdir),
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err, timed_out = _communicate(proc, stdin, started + float(timeout))
    finally:
        if proc.poll() is None:
            # bwrap --die-with-parent: killing the outer bwrap kills its pid namespace and everything in it
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
        proc.wait()
        for f in (proc.stdout, proc.stderr):
            f.close()
    if timed_out:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the plain-subprocess fallback
        except OSError:
            pass
    return SimpleNamespace(returncode=proc.returncode, stdout=out, stderr=err, timed_out=timed_out, workdir=workdir)
