"""Dataset names, manifest paths, canonical manifests and digests, NAME@VERSION references."""

from __future__ import annotations

import hashlib

import pytest

from shipyard.domain.datasets import (
    DatasetVersion,
    ManifestEntry,
    canonical_manifest,
    manifest_digest,
    normalize_manifest,
    parse_canonical_manifest,
    parse_dataset_ref,
    validate_dataset_name,
    validate_manifest_path,
)
from shipyard.errors import InvalidArgument

SHA_A = hashlib.sha256(b"a").hexdigest()
SHA_B = hashlib.sha256(b"b").hexdigest()


@pytest.mark.parametrize("name", ["mnist", "MNIST-v2", "a", "0", "x.y_z-1", "n" * 128])
def test_good_names(name: str) -> None:
    assert validate_dataset_name(name) == name


@pytest.mark.parametrize(
    "name", ["", " ", "-a", ".a", "_a", "a b", "a/b", "a@1", "a\\b", "é", "n" * 129, "a\n"]
)
def test_bad_names_say_what_to_use(name: str) -> None:
    with pytest.raises(InvalidArgument, match="dataset name") as caught:
        validate_dataset_name(name)
    assert caught.value.hint


@pytest.mark.parametrize(
    "path", ["a", "a/b/c.txt", "données/été 1.csv", "a..b", "...", ".hidden/x", "a b/c"]
)
def test_good_paths(path: str) -> None:
    assert validate_manifest_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/abs",
        "../x",
        "a/../b",
        "a/..",
        "..",
        ".",
        "./a",
        "a/./b",
        "a//b",
        "a/",
        "a\\b",
        "C:\\x",
        "a\tb",
        "a\nb",
        "a\x85b",
        "p" * 1025,
    ],
)
def test_bad_paths_are_refused(path: str) -> None:
    with pytest.raises(InvalidArgument, match="path"):
        validate_manifest_path(path)


def test_normalize_sorts_by_path_and_checks_entries() -> None:
    entries = [ManifestEntry("b", 1, SHA_B), ManifestEntry("a/z", 1, SHA_A)]
    assert normalize_manifest(entries) == (entries[1], entries[0])
    with pytest.raises(InvalidArgument, match="listed twice"):
        normalize_manifest([ManifestEntry("a", 1, SHA_A), ManifestEntry("a", 1, SHA_B)])
    with pytest.raises(InvalidArgument, match="both a file and the folder"):
        normalize_manifest([ManifestEntry("a/b/c", 1, SHA_A), ManifestEntry("a", 1, SHA_B)])
    with pytest.raises(InvalidArgument, match="at least one file"):
        normalize_manifest([])
    with pytest.raises(InvalidArgument, match="invalid size"):
        normalize_manifest([ManifestEntry("a", True, SHA_A)])
    with pytest.raises(InvalidArgument, match="invalid sha256"):
        normalize_manifest([ManifestEntry("a", 1, SHA_A.upper())])


def test_canonical_manifest_and_digest_are_pinned() -> None:
    entries = normalize_manifest([ManifestEntry("z z", 1, SHA_B), ManifestEntry("a", 1, SHA_A)])
    text = canonical_manifest(entries)
    assert text == f"{SHA_A} 1 a\n{SHA_B} 1 z z\n".encode()
    assert manifest_digest(entries) == hashlib.sha256(text).hexdigest()
    assert parse_canonical_manifest(text) == list(entries)


def test_unicode_paths_round_trip_through_the_canonical_text() -> None:
    # U+2028 is a line break for str.splitlines(); the format splits on "\n" only.
    entries = normalize_manifest([ManifestEntry("l\u2028x/é.csv", 3, SHA_A)])
    assert parse_canonical_manifest(canonical_manifest(entries)) == list(entries)


def test_dataset_refs() -> None:
    assert parse_dataset_ref("mnist") == ("mnist", None)
    assert parse_dataset_ref("mnist@12") == ("mnist", 12)
    for bad in ("mnist@", "mnist@0", "mnist@x", "mnist@-1", "@3", "a b@1"):
        with pytest.raises(InvalidArgument):
            parse_dataset_ref(bad)


def test_version_ref() -> None:
    version = DatasetVersion("mnist", 3, "d" * 64, 1, 1)
    assert version.ref == "mnist@3"
