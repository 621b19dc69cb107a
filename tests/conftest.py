"""Shared test set-up: one torch thread (small models run faster and reductions are reproducible)."""
from __future__ import annotations

import os

import pytest
import torch
from hypothesis import settings

# In CI the property tests replay a fixed set of examples, so a run never fails on luck alone;
# locally they explore new examples each time.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    # Real-feature caches of one test must not leak into another (or into ~/.cache).
    monkeypatch.setenv("GANBENCH_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture
def float64():
    """Tensors default to float64 inside the test (exactness tests: both sides round alike to ~1e-16)."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


@pytest.fixture
def exploding_loss():
    """Registers loss "test-exploding": ns whose D loss turns NaN from the 6th call (divergence tests)."""
    from ganbench.losses import LOSSES, get_loss

    class Exploding:
        clip, n_critic, needs_real_for_g, name = None, 1, False, "ns"

        def __init__(self):
            self.inner, self.calls = get_loss("ns"), 0

        def d_loss(self, real, fake):
            self.calls += 1
            out = self.inner.d_loss(real, fake)
            return out * float("nan") if self.calls > 5 else out

        def g_loss(self, fake, real=None):
            return self.inner.g_loss(fake, real)

        def penalty(self, *a, **k):
            return torch.zeros(())

    LOSSES.add("test-exploding", lambda: Exploding(), "test only")
    yield "test-exploding"
    LOSSES._entries.pop("test-exploding")


NOBODY = 65534


@pytest.fixture
def open_tmp():
    """A folder every user may enter and write in (tmp_path's parents are private to the test's user)."""
    import shutil
    import tempfile
    from pathlib import Path
    d = Path(tempfile.mkdtemp(prefix="ganbench-open-"))
    d.chmod(0o777)
    yield d
    for p in d.rglob("*"):  # a test may have left read-only folders behind
        if p.is_dir() and not p.is_symlink():
            p.chmod(0o777)
    shutil.rmtree(d, ignore_errors=True)


def _not_reachable_by_others() -> str:
    """The first folder on the way to ganbench's code or its environment that other users cannot enter ('' if
    none). Not the base interpreter's: the forked child has it loaded already (and pyenv keeps it under /root)."""
    import stat
    import sys
    from pathlib import Path
    for target in (Path(__file__).resolve().parent.parent, Path(sys.prefix).resolve()):
        for d in (target, *target.parents):
            if not d.stat().st_mode & stat.S_IXOTH:
                return str(d)
    return ""


@pytest.fixture
def unprivileged():
    """``call(fn)`` runs ``fn()`` as a user whom file modes bind: in a forked child as user nobody when the tests
    run as root (root reads and writes through any mode), else in this process. ``fn`` returns JSON values."""
    import json

    def call(fn):
        if os.geteuid() != 0:
            return fn()
        blocked = _not_reachable_by_others()
        if blocked:  # e.g. a clone inside a `mktemp -d` folder (mode 0700): nobody could not even import ganbench
            pytest.skip(f"{blocked} is not readable by other users, so a child running as nobody cannot load "
                        f"ganbench; clone into a world-readable folder to run this test as root")
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: drop root, run, send the result back, exit without running pytest's teardown
            try:
                os.close(read_end)
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                payload = json.dumps({"result": fn()})
            except BaseException as e:  # noqa: BLE001 - reported to the parent, which fails the test
                payload = json.dumps({"error": f"{type(e).__name__}: {e}"})
            os.write(write_end, payload.encode())
            os._exit(0)
        os.close(write_end)
        chunks = []
        while chunk := os.read(read_end, 1 << 16):
            chunks.append(chunk)
        os.close(read_end)
        os.waitpid(pid, 0)
        reply = json.loads(b"".join(chunks) or b'{"error": "the child sent nothing"}')
        assert "error" not in reply, reply["error"]
        return reply["result"]
    return call
