"""The package scan: names and versions from the file system, first entry of the path wins."""

from __future__ import annotations

import hashlib
import json
import sys
import zipfile
from importlib import metadata
from pathlib import Path

from shipyard.capture import canonical_name, capture_packages, packages_hash


def dist_info(site: Path, folder: str, name: str, version: str) -> Path:
    path = site / folder
    path.mkdir(parents=True)
    (path / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return path


def test_real_environment_lists_numpy_with_its_version() -> None:
    packages = capture_packages()
    assert packages["distributions"]["numpy"] == metadata.version("numpy")
    assert packages["distributions"]["scikit-learn"] == metadata.version("scikit-learn")
    assert packages["count"] == len(packages["distributions"])
    assert list(packages["distributions"]) == sorted(packages["distributions"])
    assert packages["errors"] == []


def test_matches_importlib_metadata_for_this_interpreter() -> None:
    expected: dict[str, str] = {}
    for dist in metadata.distributions():
        expected.setdefault(canonical_name(dist.metadata["Name"]), dist.version)
    assert capture_packages(sys.path)["distributions"] == expected


def test_layouts_names_and_shadowing(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    dist_info(first, "Foo_Bar-1.0.dist-info", "Foo_Bar", "1.0")
    dist_info(second, "foo_bar-9.9.dist-info", "foo-bar", "9.9")  # shadowed by `first`
    dist_info(second, "torch-2.3.0+cu121.dist-info", "torch", "2.3.0+cu121")
    egg = second / "legacy_pkg-0.5-py3.11.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: legacy-pkg\nVersion: 0.5\n")
    develop = second / "dev_tool.egg-info"  # `setup.py develop`: no version in the name
    develop.mkdir()
    (develop / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: Dev.Tool\nVersion: 3.1\n")
    packages = capture_packages([str(first), str(second), str(tmp_path / "missing")])
    assert packages["distributions"] == {
        "dev-tool": "3.1",
        "foo-bar": "1.0",
        "legacy-pkg": "0.5",
        "torch": "2.3.0+cu121",
    }
    assert packages["errors"] == []


def test_zip_entries_fall_back_to_importlib(tmp_path: Path) -> None:
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped-2.0.dist-info/METADATA", "Name: zipped\nVersion: 2.0\n")
    assert capture_packages([str(archive)])["distributions"] == {"zipped": "2.0"}


def test_direct_urls_without_credentials(tmp_path: Path) -> None:
    editable = dist_info(tmp_path, "mylib-0.1.dist-info", "mylib", "0.1")
    (editable / "direct_url.json").write_text(
        json.dumps({"url": "file:///src/mylib", "dir_info": {"editable": True}})
    )
    vcs = dist_info(tmp_path, "private-1.2.dist-info", "private", "1.2")
    (vcs / "direct_url.json").write_text(
        json.dumps(
            {
                "url": "https://user:tok@git.example.com/org/private.git",
                "vcs_info": {"vcs": "git", "commit_id": "abc123"},
            }
        )
    )
    packages = capture_packages([str(tmp_path)])
    assert packages["direct_urls"] == {
        "mylib": {"url": "file:///src/mylib", "editable": True},
        "private": {
            "url": "https://git.example.com/org/private.git",
            "vcs": "git",
            "commit": "abc123",
        },
    }


def test_broken_entry_is_recorded_and_the_scan_goes_on(tmp_path: Path) -> None:
    dist_info(tmp_path, "good-1.0.dist-info", "good", "1.0")
    broken = dist_info(tmp_path, "broken-1.0.dist-info", "broken", "1.0")
    (broken / "direct_url.json").write_text("{not json")
    packages = capture_packages([str(tmp_path)])
    assert packages["distributions"] == {"broken": "1.0", "good": "1.0"}
    assert len(packages["errors"]) == 1
    assert packages["errors"][0]["probe"] == "packages"
    assert "broken-1.0.dist-info" in packages["errors"][0]["step"]


def test_hash_is_of_the_canonical_list() -> None:
    dists = {"numpy": "2.0.0", "attrs": "23.1.0"}
    expected = hashlib.sha256(b"attrs==23.1.0\nnumpy==2.0.0\n").hexdigest()
    assert packages_hash(dists) == expected
    assert packages_hash({**dists, "numpy": "2.0.1"}) != expected


def test_canonical_name() -> None:
    assert canonical_name("Scikit_Learn") == "scikit-learn"
    assert canonical_name("zope.interface") == "zope-interface"
    assert canonical_name("typing__extensions") == "typing-extensions"
