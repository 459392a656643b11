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

    from fm_sandbox import fork_candidate
    c = fork_candidate(fn, *, files=None, cwd_files_readonly=True, exec_argv=None, name='candidate')
    c.sock, c.pid, c.workdir, c.isolated, c.log_tail(), c.kill(), c.wait(timeout)

The same isolation for a long-lived candidate process that talks to the evaluator over a socket (the
KernelBench harness): this interpreter forks (cheap when it already holds torch or numpy), the child
enters its own user, mount, pid, network, ipc and uts namespaces with the evaluation folder masked, drops
every capability and calls fn(sock, workdir), or execs `exec_argv` (with `{fd}` replaced by the
socket's descriptor). Fork it before reading anything the candidate must not see: the child starts
with a copy of this process's memory. Its stdout and stderr go to a log file (`log_tail()`).
"""
import atexit
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from types import SimpleNamespace

__all__ = ['run_candidate', 'child_sandbox_available', 'fork_candidate', 'recent_output']

MAX_OUTPUT = 16 * 1024 * 1024
_warned = False
_STDERR_TAILS = []  # what the candidates wrote on stderr, for the evaluator's artifacts


def recent_output(limit=4000):
    """The tail of what the candidates run by run_candidate wrote on stderr (their prints, their attempts)."""
    text = '\n'.join(t for t in _STDERR_TAILS if t.strip())
    return text if len(text) <= limit else '...' + text[-limit:]


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
            executable = os.access(src, os.X_OK)
            os.chmod(dst, (0o555 if executable else 0o444) if readonly else (0o755 if executable else 0o644))
        placed.append(dst)
    return placed


# what the candidate's /tmp and /dev/shm may each hold, as on the path without bubblewrap: tmpfs pages
# are charged to no process, and unbounded they could each take half the machine's memory
SCRATCH_TMPFS_BYTES = 512 << 20


def _scratch(cfg, target, workdir):
    if cfg.get('tmpfsSize'):
        return ['--size', str(SCRATCH_TMPFS_BYTES), '--tmpfs', target]
    # a bubblewrap without --size (before 0.5): a folder beside the work folder, bounded as it is
    folder = f'{workdir}.{os.path.basename(target)}'
    os.makedirs(folder, exist_ok=True)
    return ['--bind', folder, target]


def _bwrap_argv(cfg, cmd, workdir, placed, readonly):
    argv = [cfg['bwrap'], '--unshare-all', '--die-with-parent', '--new-session', '--hostname', 'fm-child',
            '--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc',
            *_scratch(cfg, '/tmp', workdir), *_scratch(cfg, '/dev/shm', workdir)]
    masks = []
    for path in cfg.get('hide') or []:
        if os.path.isdir(path):
            argv += [*(['--size', str(1 << 20)] if cfg.get('tmpfsSize') else []), '--tmpfs', path]
            masks.append(path)
        elif os.path.exists(path):
            argv += ['--ro-bind', '/dev/null', path]
    argv += ['--bind', workdir, workdir]
    if readonly:
        for dst in placed:
            argv += ['--ro-bind', dst, dst]
    # a mask is not a place to write: read-only once the work folder is bound inside it
    for path in masks:
        argv += ['--remount-ro', path]
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


def work_folder(prefix):
    """A folder for one candidate's run. Inside a worker it is made in the evaluation's folder, which the
    worker removes with it; outside one (an evaluator run by hand) it is removed when this process exits,
    so the caller can still read what the candidate wrote there until then."""
    root = (_config() or {}).get('root')
    if root:
        os.makedirs(root, exist_ok=True)
        return tempfile.mkdtemp(prefix=prefix, dir=root)
    path = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, path, True)
    return path


def run_candidate(cmd, *, stdin=None, timeout, files=None, cwd_files_readonly=True):
    if isinstance(cmd, (str, bytes)):
        raise TypeError('run_candidate: cmd is a list of arguments, not a string')
    cfg = _config()
    workdir = work_folder('run-')
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
    if err:
        _STDERR_TAILS.append(err[-2000:].decode('utf-8', errors='replace'))
        del _STDERR_TAILS[:-8]
    return SimpleNamespace(returncode=proc.returncode, stdout=out, stderr=err, timed_out=timed_out, workdir=workdir)


# ------------------------------------------------------------------------------------ fork_candidate
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_REC, MS_PRIVATE = 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE = 1, 4


class Candidate:
    """A candidate process started by fork_candidate."""

    def __init__(self, pid, sock, workdir, log_path, isolated, reason):
        self.pid = pid
        self.sock = sock
        self.workdir = workdir
        self.log_path = log_path
        self.isolated = isolated
        self.reason = reason
        self.status = None

    def log_tail(self, limit=4000):
        try:
            with open(self.log_path, 'rb') as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(0, size - limit))
                text = f.read().decode('utf-8', errors='replace')
            return ('...' if size > limit else '') + text
        except OSError:
            return ''

    def poll(self):
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return -1
            if pid:
                self.status = status
        return self.status

    def describe_exit(self):
        st = self.poll()
        if st is None:
            return 'still running'
        if os.WIFSIGNALED(st):
            return f'killed by {signal.Signals(os.WTERMSIG(st)).name}'
        return f'exit code {os.WEXITSTATUS(st)}'

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.005)
        return self.status

    def kill(self):
        """The whole candidate: its pid namespace dies with its first process."""
        if self.poll() is None:
            for kill in (os.killpg, os.kill):  # without a pid namespace, its process group goes too
                try:
                    kill(self.pid, signal.SIGKILL)
                except OSError:
                    pass
            self.wait()
        try:
            self.sock.close()
        except OSError:
            pass


def _libc():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    return libc


def _mount(libc, src, target, fstype, flags, data=None):
    import ctypes
    enc = lambda v: v.encode() if isinstance(v, str) else v
    if libc.mount(enc(src), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f'mount {target}: {os.strerror(err)}')


def _write(path, text):
    with open(path, 'w') as f:
        f.write(text)


def _locked_flags(path):
    """The mount flags a remount inside a user namespace must keep (the kernel refuses to drop them)."""
    f = os.statvfs(path).f_flag
    flags = f & (MS_NOSUID | MS_NODEV | MS_NOEXEC | 1024 | 2048)  # ST_NOATIME, ST_NODIRATIME = MS_*
    if f & 4096:  # ST_RELATIME
        flags |= 1 << 21
    return flags


def _enter_namespaces(libc, cfg, workdir, placed, readonly):
    """In the forked child: own namespaces, the evaluation folder masked, the work folder bound back."""
    import ctypes
    uid, gid = os.geteuid(), os.getegid()
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # a non-dumpable process cannot write its own uid_map
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f'unshare: {os.strerror(err)}')
    _write('/proc/self/setgroups', 'deny')
    _write('/proc/self/uid_map', f'{uid} {uid} 1')
    _write('/proc/self/gid_map', f'{gid} {gid} 1')
    _mount(libc, None, '/', None, MS_REC | MS_PRIVATE)
    keep = os.open(workdir, os.O_PATH)  # opened in this mount namespace, before the masks cover it
    masks = []
    for path in cfg.get('hide') or []:
        if os.path.isdir(path):
            _mount(libc, 'tmpfs', path, 'tmpfs', MS_NOSUID | MS_NODEV, 'size=1m,mode=755')
            masks.append(path)
        elif os.path.exists(path):
            _mount(libc, '/dev/null', path, None, MS_BIND)
    for target in ('/tmp', '/dev/shm'):
        if os.path.isdir(target):
            _mount(libc, 'tmpfs', target, 'tmpfs', MS_NOSUID | MS_NODEV, 'size=512m,mode=1777')
    os.makedirs(workdir, exist_ok=True)
    _mount(libc, f'/proc/self/fd/{keep}', workdir, None, MS_BIND | MS_REC)
    os.close(keep)
    for path in masks:  # the masks read-only; the work folder bound inside keeps its own mode
        _mount(libc, None, path, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    if readonly:
        for dst in placed:
            _mount(libc, dst, dst, None, MS_BIND)
            _mount(libc, None, dst, None, MS_BIND | MS_REMOUNT | MS_RDONLY | _locked_flags(dst))


def fork_candidate(fn=None, *, files=None, cwd_files_readonly=True, exec_argv=None, name='candidate'):
    if (fn is None) == (exec_argv is None):
        raise TypeError('fork_candidate: give either fn or exec_argv')
    cfg = _config()
    isolated = bool(cfg and cfg.get('mode') == 'bwrap')
    reason = None if isolated else ((cfg or {}).get('reason') or 'not running under an FM Agent worker (FM_CHILD_SANDBOX is unset)')
    if not isolated:
        _warn(f'running the candidate WITHOUT a child sandbox: {reason}')
    base = work_folder(f'{name}-')
    workdir = os.path.join(base, 'work')
    os.mkdir(workdir)
    log_path = os.path.join(base, 'log.txt')
    placed = _copy_files(files, workdir, cwd_files_readonly)
    env = _child_env(cfg, workdir)
    parent_sock, child_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            parent_sock.close()
            code = _child_main(fn, exec_argv, cfg if isolated else None, workdir, placed, cwd_files_readonly, log_path, child_sock, env)
        except BaseException:
            try:
                import traceback
                os.write(2, ('fm_sandbox: the candidate process could not start:\n' + traceback.format_exc()).encode())
            except BaseException:
                pass
        os._exit(code)
    child_sock.close()
    return Candidate(pid, parent_sock, workdir, log_path, isolated, reason)


def _child_main(fn, exec_argv, cfg, workdir, placed, readonly, log_path, sock, env):
    from fm_launcher import drop_capabilities
    libc = _libc()
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # dies with the evaluator
    os.setsid()
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    devnull = os.open('/dev/null', os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = os.fdopen(1, 'w', buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, 'w', buffering=1, closefd=False)
    fd = sock.fileno()
    if cfg is not None:
        _enter_namespaces(libc, cfg, workdir, placed, readonly)
        # the first process of the new pid namespace runs the candidate; when it ends, the kernel kills
        # everything left in the namespace; it dies with this process (and so with the evaluator)
        inner = os.fork()
        if inner != 0:
            os.closerange(0, 1 << 20)
            while True:
                try:
                    _, status = os.waitpid(inner, 0)
                    break
                except InterruptedError:
                    continue
            return os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        _mount(libc, 'proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC)
        drop_capabilities()
    os.closerange(3, fd)
    os.closerange(fd + 1, 1 << 20)
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(env)
    if exec_argv is not None:
        os.set_inheritable(fd, True)
        argv = [a.replace('{fd}', str(fd)) for a in exec_argv]
        os.execve(argv[0], argv, env)
    fn(sock, workdir)
    sys.stdout.flush()
    sys.stderr.flush()
    return 0
