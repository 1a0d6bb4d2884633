"""Entry point and notebook detection of the code probe (git itself: tests/integration)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from shipyard.capture import capture_code, detect_notebook


class Shell:
    """Stands in for IPython's kernel shell (a third-party object), with its user namespace."""

    def __init__(self, user_ns: dict[str, Any]) -> None:
        self.user_ns = user_ns


def ipython_modules(user_ns: dict[str, Any], connection_file: str | None) -> dict[str, ModuleType]:
    ipython = ModuleType("IPython")
    ipython.get_ipython = lambda: Shell(user_ns)  # type: ignore[attr-defined]
    modules = {"IPython": ipython}
    if connection_file is not None:
        ipykernel = ModuleType("ipykernel")
        ipykernel.get_connection_file = lambda: connection_file  # type: ignore[attr-defined]
        modules["ipykernel"] = ipykernel
    return modules


def test_not_in_ipython() -> None:
    assert detect_notebook({}, {}, Path.cwd()) is None
    assert detect_notebook({}, {"IPython": ModuleType("IPython")}, Path.cwd()) is None


def test_vscode_notebook_path(tmp_path: Path) -> None:
    notebook = tmp_path / "explore.ipynb"
    notebook.write_text("{}")
    modules = ipython_modules(
        {"__vsc_ipynb_file__": str(notebook)}, "/run/jupyter/kernel-1a2b-3c.json"
    )
    assert detect_notebook({}, modules, tmp_path) == {
        "shell": "Shell",
        "path": str(notebook.resolve()),
        "kernel_id": "1a2b-3c",
        "save_copy": True,
    }


def test_jupyter_session_name_relative_to_the_server_root(tmp_path: Path) -> None:
    (tmp_path / "analysis.ipynb").write_text("{}")
    modules = ipython_modules({}, None)
    found = detect_notebook({"JPY_SESSION_NAME": "projects/x/analysis.ipynb"}, modules, tmp_path)
    assert found is not None
    assert found["path"] == str((tmp_path / "analysis.ipynb").resolve())
    assert found["save_copy"] is True


def test_notebook_path_that_cannot_be_found(tmp_path: Path) -> None:
    found = detect_notebook({}, ipython_modules({"__session__": "gone.ipynb"}, None), tmp_path)
    assert found == {"shell": "Shell", "path": "gone.ipynb", "kernel_id": None, "save_copy": False}


def test_entry_point_of_this_process() -> None:
    entry = capture_code()["entry_point"]
    assert entry["argv"] == sys.argv
    main_spec = getattr(sys.modules["__main__"], "__spec__", None)
    assert entry["module"] == getattr(main_spec, "name", None)


def test_interactive_entry_point_has_no_script(tmp_path: Path) -> None:
    entry = capture_code(tmp_path, ["-c", "print(1)"])["entry_point"]
    assert entry == {
        "argv": ["-c", "print(1)"],
        "script": None,
        "script_relative": None,
        "module": None,
    }
