"""The code a run executes: git commit, branch, remote, the uncommitted patch, the entry point.

Uses the ``git`` command line (with timeouts), never a Python git library. Outside a repository
``git`` is ``None`` and only the entry point and working directory are recorded.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType

from shipyard.capture._common import (
    ProbeErrors,
    Record,
    environ_or_default,
    strip_credentials,
)
from shipyard.capture._git import Git, Status, parse_remotes, parse_status, pick_remote
from shipyard.capture._patch import Caps, Patch, build_patch
from shipyard.errors import ShipyardError

DEFAULT_DIFF_CAP_BYTES = 5 << 20
DEFAULT_FILE_CAP_BYTES = 1 << 20
DEFAULT_GIT_TIMEOUT = 10.0

_NOT_A_REPO = "not a git repository"
_NOT_SCRIPTS = {"", "-c", "-m", "-"}


def capture_code(
    cwd: Path | None = None,
    argv: Sequence[str] | None = None,
    *,
    diff_cap_bytes: int = DEFAULT_DIFF_CAP_BYTES,
    file_cap_bytes: int = DEFAULT_FILE_CAP_BYTES,
    timeout: float = DEFAULT_GIT_TIMEOUT,
    environ: Mapping[str, str] | None = None,
) -> Record:
    """Describe the code of this run; never raises (failures land in ``errors``).

    Args:
        cwd: the working directory to inspect (default: the current one).
        argv: the command line (default: ``sys.argv`` and the ``__main__`` module).
        diff_cap_bytes: the most bytes of patch to keep; further files are listed as skipped.
        file_cap_bytes: files (or their patch) larger than this are skipped.
        timeout: seconds each git command may take.
        environ: where to look for notebook hints (default: ``os.environ``).

    Returns ``{"cwd", "entry_point", "git", "notebook", "errors"}``. ``git`` is ``None`` outside a
    repository, else ``{"root", "commit", "branch", "detached", "upstream", "remote_name",
    "remote_url", "remotes", "dirty", "cwd_relative", "patch", "patch_bytes", "patch_sha256",
    "patch_files", "skipped", "patch_complete"}``. ``patch`` applies with ``git apply`` on a
    checkout of ``commit`` and rebuilds the working tree, except the files in ``skipped``
    (each ``{"path", "reason", "size"}``).

    Example::

        code = capture_code()
        print(code["git"]["commit"], code["git"]["dirty"])
    """
    errors = ProbeErrors("code")
    where = _resolve_cwd(cwd, errors)
    args = list(sys.argv if argv is None else argv)
    git: Record | None = None
    if where is not None:
        with errors.guard("git"):
            git = _git_section(where, Caps(diff_cap_bytes, file_cap_bytes), timeout, errors)
    root = Path(git["root"]) if git else None
    main = sys.modules.get("__main__") if argv is None else None
    notebook: Record | None = None
    with errors.guard("notebook"):
        notebook = detect_notebook(environ_or_default(environ), sys.modules, where)
    return {
        "cwd": None if where is None else str(where),
        "entry_point": _entry_point(args, where, root, main),
        "git": git,
        "notebook": notebook,
        "errors": errors.items,
    }


def _resolve_cwd(cwd: Path | None, errors: ProbeErrors) -> Path | None:
    with errors.guard("working directory"):
        return (Path.cwd() if cwd is None else cwd).resolve()
    return None


def _git_section(where: Path, caps: Caps, timeout: float, errors: ProbeErrors) -> Record | None:
    try:
        out = Git(where, timeout).run("rev-parse", "--show-toplevel", "--git-path", "index")
    except ShipyardError as exc:
        if _NOT_A_REPO in exc.message.lower():
            return None
        raise
    top, index = out.decode(errors="surrogateescape").splitlines()[:2]
    root = Path(top).resolve()
    git = Git(root, timeout)
    status = parse_status(
        git.run("status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all")
    )
    record = _identity(git, status, errors)
    record.update(root=str(root), cwd_relative=_relative(where, root))
    patch = Patch()
    if status.changes:
        with errors.guard("git diff"):
            patch = build_patch(git, status, where / index, caps, errors)
    record.update(_patch_fields(patch, dirty=bool(status.changes)))
    return record


def _identity(git: Git, status: Status, errors: ProbeErrors) -> Record:
    remotes: dict[str, str] = {}
    with errors.guard("git remotes"):
        out = git.run("config", "--get-regexp", r"^remote\..*\.url$", allowed=(0, 1))
        remotes = {name: strip_credentials(url) for name, url in parse_remotes(out).items()}
    remote = pick_remote(remotes, status.upstream)
    return {
        "commit": status.commit,
        "branch": status.branch,
        "detached": status.branch is None,
        "upstream": status.upstream,
        "remote_name": remote,
        "remote_url": None if remote is None else remotes[remote],
        "remotes": remotes,
    }


def _patch_fields(patch: Patch, *, dirty: bool) -> Record:
    data = patch.text.encode("utf-8")
    return {
        "dirty": dirty,
        "patch": patch.text,
        "patch_bytes": len(data),
        "patch_sha256": hashlib.sha256(data).hexdigest() if data else None,
        "patch_files": patch.files,
        "skipped": patch.skipped,
        "patch_complete": not patch.skipped,
    }


def _relative(path: Path | None, root: Path | None) -> str | None:
    if path is None or root is None:
        return None
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None


def _entry_point(
    argv: list[str], where: Path | None, root: Path | None, main: ModuleType | None
) -> Record:
    script: Path | None = None
    if argv and argv[0] not in _NOT_SCRIPTS:
        candidate = Path(argv[0])
        if not candidate.is_absolute() and where is not None:
            candidate = where / candidate
        if candidate.exists():
            script = candidate.resolve()
    spec = getattr(main, "__spec__", None)
    return {
        "argv": argv,
        "script": None if script is None else str(script),
        "script_relative": _relative(script, root),
        "module": getattr(spec, "name", None),
    }


def detect_notebook(
    environ: Mapping[str, str], modules: Mapping[str, ModuleType], cwd: Path | None
) -> Record | None:
    """Where the running notebook lives, when this process is an IPython kernel.

    Looks (without importing anything) at ``IPython.get_ipython()``: the VS Code
    ``__vsc_ipynb_file__`` and Jupyter ``__session__`` variables, then ``JPY_SESSION_NAME``, and the
    kernel id from the ipykernel connection file. Returns ``None`` outside IPython, else
    ``{"shell", "path", "kernel_id", "save_copy"}``; ``save_copy`` is true when ``path`` is a file
    that the SDK can store next to the run.
    """
    ipython = modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    if shell is None:
        return None
    user_ns = getattr(shell, "user_ns", None)
    names = user_ns if isinstance(user_ns, Mapping) else {}
    hint = names.get("__vsc_ipynb_file__") or names.get("__session__")
    hint = hint or environ.get("JPY_SESSION_NAME")
    path = _notebook_file(str(hint), cwd) if hint else None
    return {
        "shell": type(shell).__name__,
        "path": str(path) if path else (str(hint) if hint else None),
        "kernel_id": _kernel_id(modules.get("ipykernel")),
        "save_copy": path is not None,
    }


def _notebook_file(hint: str, cwd: Path | None) -> Path | None:
    """The notebook file a session name points at (it may be relative to the server root)."""
    raw = Path(hint)
    candidates = [raw] if raw.is_absolute() else []
    if cwd is not None and not raw.is_absolute():
        candidates += [cwd / raw, cwd / raw.name]
    return next((c.resolve() for c in candidates if c.is_file()), None)


def _kernel_id(ipykernel: ModuleType | None) -> str | None:
    get_connection_file = getattr(ipykernel, "get_connection_file", None)
    if not callable(get_connection_file):
        return None
    try:
        name = Path(str(get_connection_file())).stem
    except Exception:  # no kernel app running: an IPython terminal, not a kernel
        return None
    return name.removeprefix("kernel-") or None
