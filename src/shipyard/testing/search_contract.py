"""The contract suite of ``RunStore.search_runs``: filters, ordering and keyset paging.

Subclass :class:`SearchContract` in a test module (name it ``Test...``) and supply an empty store
as the ``store`` fixture; the suite uses only the public :class:`~shipyard.store.base.RunStore`
methods::

    class TestSqliteSearch(SearchContract):
        @pytest.fixture
        def store(self, tmp_path: Path) -> Iterator[RunStore]:
            store = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/s.db", auto_create=True)
            yield store
            store.close()

Promises checked beyond the grammar itself: a condition on a param, tag or metric needs the key
(``NOT`` negates the whole condition); params compare as numbers with a number literal and as
text otherwise; text sorts by code point; missing values sort last in both directions; ties end
on the run id, in the direction of the last order term.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import random
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from shipyard.domain.batch import IngestBatch, MetricColumns
from shipyard.domain.entities import ParamValue, Run, RunStatus
from shipyard.domain.ids import new_id
from shipyard.errors import FilterSyntaxError, InvalidArgument, NotFound
from shipyard.store.base import RunStore, SearchQuery

PROJECT = "search"
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
NAMES = ("alpha", "beta", "gamma", "delta", "epsilon")
ALL = frozenset(NAMES)

_RUNS: dict[str, dict[str, Any]] = {
    "alpha": {
        "status": RunStatus.FINISHED, "user": "ann", "start": 1000, "end": 5000,
        "params": {"lr": 0.1, "depth": 4, "opt": "adam", "bn": True},
        "tags": {"team": "vision", "env": "prod"},
        "metrics": {"acc": [0.5, 0.9, 0.8], "loss": [1.0, 0.3]},
    },
    "beta": {
        "status": RunStatus.FAILED, "user": "bob", "start": 2000, "end": 3000,
        "params": {"lr": 0.01, "depth": 8, "opt": "sgd", "bn": False},
        "tags": {"team": "nlp"}, "metrics": {"acc": [0.7]},
    },
    "gamma": {
        "status": RunStatus.RUNNING, "user": "ann", "start": 3000, "end": None,
        "params": {"lr": 0.001, "opt": "Adam", "seed": None},
        "tags": {"team": "Vision"}, "metrics": {"acc": [0.95, 0.6]},
    },
    "delta": {
        "status": RunStatus.KILLED, "user": "cy", "start": 4000, "end": 10_000,
        "params": {"lr": "auto", "depth": 16}, "tags": {}, "metrics": {"loss": [0.5]},
    },
    "epsilon": {
        "status": RunStatus.FINISHED, "user": "bob", "start": 5000, "end": 6000,
        "params": {}, "tags": {"team": "nlp", "note": "50% done"}, "metrics": {"acc": [0.7]},
    },
}  # fmt: skip

COMPARISONS = [
    ("metrics.acc = 0.8", {"alpha"}),
    ("metrics.acc != 0.8", {"beta", "gamma", "epsilon"}),
    ("metrics.acc <> 0.8", {"beta", "gamma", "epsilon"}),
    ("metrics.acc < 0.7", {"gamma"}),
    ("metrics.acc <= 0.7", {"beta", "gamma", "epsilon"}),
    ("metrics.acc > 0.7", {"alpha"}),
    ("metrics.acc >= 0.7", {"alpha", "beta", "epsilon"}),
    ("metrics.acc.last = 0.6", {"gamma"}),
    ("metrics.acc.min < 0.55", {"alpha"}),
    ("metrics.acc.max > 0.92", {"gamma"}),
    ("metrics.acc.max >= 0.9", {"alpha", "gamma"}),
    ("metrics.loss < 0.4", {"alpha"}),
    ("params.lr = 0.1", {"alpha"}),
    ("params.lr > 0.005", {"alpha", "beta"}),
    ("params.lr < 1", {"alpha", "beta", "gamma"}),
    ("params.lr = 'auto'", {"delta"}),
    ("params.depth = 4", {"alpha"}),
    ("params.depth = 4.0", {"alpha"}),
    ("params.depth >= 8", {"beta", "delta"}),
    ("params.opt = 'adam'", {"alpha"}),
    ("params.opt != 'adam'", {"beta", "gamma"}),
    ("params.bn = true", {"alpha"}),
    ("params.bn = false", {"beta"}),
    ("tags.team = 'nlp'", {"beta", "epsilon"}),
    ("tags.team != 'nlp'", {"alpha", "gamma"}),
    ("tags.env = 'prod'", {"alpha"}),
    ("tags.team > 'a'", {"alpha", "beta", "epsilon"}),
    ("status = 'FINISHED'", {"alpha", "epsilon"}),
    ("status = 'finished'", {"alpha", "epsilon"}),
    ("status != 'running'", {"alpha", "beta", "delta", "epsilon"}),
    ("user = 'ann'", {"alpha", "gamma"}),
    ("name = 'delta'", {"delta"}),
    ("name >= 'd'", {"delta", "epsilon", "gamma"}),
    ("attributes.status = 'KILLED'", {"delta"}),
    ("run.user = 'cy'", {"delta"}),
]
SETS_AND_PATTERNS = [
    ("status IN ('failed', 'KILLED')", {"beta", "delta"}),
    ("status NOT IN ('FINISHED')", {"beta", "gamma", "delta"}),
    ("user in ('bob', 'cy')", {"beta", "delta", "epsilon"}),
    ("params.opt IN ('adam', 'sgd')", {"alpha", "beta"}),
    ("params.opt NOT IN ('adam')", {"beta", "gamma"}),
    ("params.lr IN (0.1, 'auto')", {"alpha", "delta"}),
    ("params.lr NOT IN (0.1, 'auto')", {"beta", "gamma"}),
    ("params.opt NOT IN (1, 'adam')", {"beta", "gamma"}),
    ("params.depth IN (4, 16)", {"alpha", "delta"}),
    ("metrics.acc IN (0.7, 0.8)", {"alpha", "beta", "epsilon"}),
    ("tags.team NOT IN ('nlp')", {"alpha", "gamma"}),
    ("name LIKE '%a'", {"alpha", "beta", "gamma", "delta"}),
    ("name LIKE '_eta'", {"beta"}),
    ("name NOT LIKE '%a'", {"epsilon"}),
    ("name LIKE 'A%'", set()),
    ("name LIKE '[a]%'", set()),
    ("name LIKE '*'", set()),
    ("tags.team LIKE 'vis%'", {"alpha"}),
    ("tags.team LIKE 'Vis%'", {"gamma"}),
    ("tags.team ILIKE 'VIS%'", {"alpha", "gamma"}),
    ("tags.team NOT ILIKE 'vis%'", {"beta", "epsilon"}),
    ("tags.note LIKE '50\\%%'", {"epsilon"}),
    ("tags.note LIKE '50\\_%'", set()),
    ("params.opt LIKE 'a%'", {"alpha"}),
    ("params.opt ILIKE 'a%'", {"alpha", "gamma"}),
    ("end_time IS NULL", {"gamma"}),
    ("end_time IS NOT NULL", {"alpha", "beta", "delta", "epsilon"}),
    ("parent_id IS NULL", ALL),
    ("tags.team IS NULL", {"delta"}),
    ("tags.team = null", {"delta"}),
    ("params.depth IS NOT NULL", {"alpha", "beta", "delta"}),
    ("params.seed IS NULL", ALL),
    ("metrics.loss IS NULL", {"beta", "gamma", "epsilon"}),
    ("metrics.loss != null", {"alpha", "delta"}),
]
LOGIC = [
    ("tags.team = 'nlp' OR user = 'ann' AND status = 'RUNNING'", {"beta", "epsilon", "gamma"}),
    ("(tags.team = 'nlp' OR user = 'ann') AND status = 'RUNNING'", {"gamma"}),
    ("NOT status = 'FINISHED' AND user = 'bob'", {"beta"}),
    ("NOT (status = 'FINISHED' AND user = 'bob')", {"alpha", "beta", "gamma", "delta"}),
    ("NOT params.opt = 'adam'", {"beta", "gamma", "delta", "epsilon"}),
    ("NOT metrics.acc > 0.7", {"beta", "gamma", "delta", "epsilon"}),
    ("NOT end_time > '2026-01-01T00:00:05Z'", {"alpha", "beta", "gamma"}),
    ("metrics.acc > 0.75 or metrics.loss < 0.6 and tags.team is null", {"alpha", "delta"}),
    ("metrics.acc >= 0.7 and (user = 'bob' or params.bn = true) and not name = 'beta'",
     {"alpha", "epsilon"}),
]  # fmt: skip
TIMES = [
    ("start_time >= '2026-01-01T00:00:03Z'", {"gamma", "delta", "epsilon"}),
    (f"start_time < {T0 + 2500}", {"alpha", "beta"}),
    ("start_time > '2026-01-01'", ALL),
    ("start_time < '2026-01-01'", set()),
    ("end_time <= '2026-01-01T00:00:05+00:00'", {"alpha", "beta"}),
    ("end_time > '2026-01-01T01:00:00+01:00'", {"alpha", "beta", "delta", "epsilon"}),
    ("duration >= 4000", {"alpha", "delta"}),
    ("duration < 2000", {"beta", "epsilon"}),
    ("duration = 1000", {"beta", "epsilon"}),
    ("NOT duration < 2000", {"alpha", "gamma", "delta"}),
]
# expected orders: groups of runs that tie on every term (ordered by id, like the last term)
ORDERS: list[tuple[list[str], list[list[str]]]] = [
    ([], [["epsilon"], ["delta"], ["gamma"], ["beta"], ["alpha"]]),
    (["start_time"], [["alpha"], ["beta"], ["gamma"], ["delta"], ["epsilon"]]),
    (["name"], [["alpha"], ["beta"], ["delta"], ["epsilon"], ["gamma"]]),
    (["-name"], [["gamma"], ["epsilon"], ["delta"], ["beta"], ["alpha"]]),
    (["status", "-metrics.acc"], [["beta"], ["alpha"], ["epsilon"], ["delta"], ["gamma"]]),
    (["-duration"], [["delta"], ["alpha"], ["beta", "epsilon"], ["gamma"]]),
    (["duration"], [["beta", "epsilon"], ["alpha"], ["delta"], ["gamma"]]),
    (["end_time DESC"], [["delta"], ["epsilon"], ["alpha"], ["beta"], ["gamma"]]),
    (["metrics.acc"], [["gamma"], ["beta", "epsilon"], ["alpha"], ["delta"]]),
    (["-metrics.acc"], [["alpha"], ["beta", "epsilon"], ["gamma"], ["delta"]]),
    (["metrics.acc.max DESC"], [["gamma"], ["alpha"], ["beta", "epsilon"], ["delta"]]),
    (["metrics.acc.min"], [["alpha"], ["gamma"], ["beta", "epsilon"], ["delta"]]),
    (["params.lr"], [["gamma"], ["beta"], ["alpha"], ["delta"], ["epsilon"]]),
    (["-params.lr"], [["alpha"], ["beta"], ["gamma"], ["delta"], ["epsilon"]]),
    (["tags.team"], [["gamma"], ["beta", "epsilon"], ["alpha"], ["delta"]]),
    (["-tags.team"], [["alpha"], ["beta", "epsilon"], ["gamma"], ["delta"]]),
]
TIE_ORDERS = [
    [],
    ["metrics.m"],
    ["-metrics.m"],
    ["params.p"],
    ["-params.p"],
    ["tags.t", "-metrics.m"],
    ["-tags.t", "params.p", "start_time"],
]
SYNTAX_ERRORS = [
    ("metrics.acc > )", 14, ")"),
    ("acc > 1", 0, "acc"),
    ("(status = 'FAILED'", 18, ""),
    ("status = 'done'", 9, "'done'"),
    ("params.x = 1; DROP TABLE runs", 12, ";"),
]
INJECTIONS = [
    "params.opt = 'a'' OR 1=1 --'",
    "name = '''; DROP TABLE runs; --'",
    "params.`opt' OR '1'='1` = 'adam'",
    'tags."team"" OR 1=1 --" = \'nlp\'',
    "name LIKE '%'' OR ''1''=''1'",
    "params.opt IN ('x'');DELETE FROM params;--')",
    "tags.`x'); DROP TABLE tags; --` IS NOT NULL",
]


def _ingest_metrics(store: RunStore, run_id: str, metrics: Mapping[str, Sequence[float]]) -> None:
    columns = {
        key: MetricColumns(list(range(len(vals))), [T0] * len(vals), list(vals))
        for key, vals in metrics.items()
    }
    store.ingest(run_id, IngestBatch(batch_id=new_id(), metrics=columns))


def _add_run(store: RunStore, project: str, name: str, spec: Mapping[str, Any]) -> Run:
    run = store.create_run(
        project,
        name=name,
        user=spec.get("user", ""),
        params=spec.get("params"),
        tags=spec.get("tags"),
        start_time=T0 + spec["start"],
    )
    if spec.get("metrics"):
        _ingest_metrics(store, run.id, spec["metrics"])
    if spec.get("status", RunStatus.RUNNING) is not RunStatus.RUNNING:
        end = None if spec.get("end") is None else T0 + spec["end"]
        store.update_run(run.id, status=spec["status"], end_time=end)
    return store.get_run(run.id)


def _walk(store: RunStore, query: SearchQuery) -> list[list[Run]]:
    """Every page of ``query``, following next_page_token to the end."""
    pages = [store.search_runs(query)]
    while pages[-1].next_page_token is not None:
        query = dataclasses.replace(query, page_token=pages[-1].next_page_token)
        pages.append(store.search_runs(query))
        assert len(pages) < 1000, "paging does not end"
    return [list(page.items) for page in pages]


class SearchContract:
    """Behaviour of ``search_runs`` shared by every run store."""

    @pytest.fixture
    def store(self) -> RunStore:
        """An empty store (one per test); subclasses override this fixture."""
        raise NotImplementedError("subclasses supply the `store` fixture")

    @pytest.fixture
    def runs(self, store: RunStore) -> dict[str, Run]:
        """Five runs in ``search`` (see ``_RUNS``), a deleted one, and one in another project."""
        runs = {name: _add_run(store, PROJECT, name, _RUNS[name]) for name in NAMES}
        zeta = _add_run(store, PROJECT, "zeta", {"start": 6000, "params": {"lr": 0.1}})
        store.delete_run(zeta.id)
        _add_run(store, "other", "omega", {"start": 7000, "params": {"lr": 0.1}})
        return runs

    @staticmethod
    def names(store: RunStore, filter: str = "", order_by: Sequence[str] = ()) -> list[str]:
        """The names of the runs of ``PROJECT`` one search returns, in order."""
        query = SearchQuery(project=PROJECT, filter=filter, order_by=order_by, limit=100)
        page = store.search_runs(query)
        assert page.next_page_token is None
        return [run.name for run in page.items]

    def check(self, store: RunStore, cases: Sequence[tuple[str, Any]]) -> None:
        """Each filter of ``cases`` returns exactly the expected runs (all failures at once)."""
        wrong = {}
        for text, expected in cases:
            got = self.names(store, text)
            if len(got) != len(set(got)) or set(got) != set(expected):
                wrong[text] = (sorted(got), sorted(expected))
        assert not wrong, f"filter: (got, expected): {wrong}"

    @staticmethod
    def expected_order(
        runs: dict[str, Run], order_by: list[str], groups: list[list[str]]
    ) -> list[str]:
        """``groups`` flattened, each group of ties ordered by id like the last order term."""
        last = order_by[-1] if order_by else "-start_time"
        descending = last.startswith("-") or last.upper().endswith("DESC")
        return [
            name
            for group in groups
            for name in sorted(group, key=lambda n: runs[n].id, reverse=descending)
        ]

    def test_empty_filter_returns_every_live_run_of_the_project(
        self, store: RunStore, runs: dict[str, Run]
    ) -> None:
        page = store.search_runs(SearchQuery(project=PROJECT))
        assert [run.name for run in page.items] == ["epsilon", "delta", "gamma", "beta", "alpha"]
        assert page.next_page_token is None
        assert page.items[-1] == runs["alpha"]

    def test_filters(self, store: RunStore, runs: dict[str, Run]) -> None:
        """Every operator, IN, LIKE, IS NULL, AND/OR/NOT and time attributes (tables above)."""
        self.check(store, COMPARISONS + SETS_AND_PATTERNS + LOGIC + TIMES)

    def test_ids_and_parents(self, store: RunStore, runs: dict[str, Run]) -> None:
        alpha, beta = runs["alpha"].id, runs["beta"].id
        child = store.create_run(PROJECT, name="child", parent_id=alpha, start_time=T0)
        assert self.names(store, f"parent_id = '{alpha}'") == ["child"]
        assert set(self.names(store, f"id IN ('{alpha}', '{beta}')")) == {"alpha", "beta"}
        assert self.names(store, f"run.id = '{child.id}'") == ["child"]
        assert "child" not in self.names(store, "parent_id IS NULL")

    def test_order_by_every_kind_with_missing_values_last(
        self, store: RunStore, runs: dict[str, Run]
    ) -> None:
        wrong = {}
        for order_by, groups in ORDERS:
            expected = self.expected_order(runs, order_by, groups)
            got = self.names(store, order_by=order_by)
            if got != expected:
                wrong[str(order_by)] = (got, expected)
        assert not wrong, f"order_by: (got, expected): {wrong}"
        got = self.names(store, "metrics.acc >= 0.6 AND params.lr < 0.05", ["-metrics.acc.max"])
        assert got == ["gamma", "beta"]

    def test_paging_walks_every_run_once(self, store: RunStore, runs: dict[str, Run]) -> None:
        for (order_by, groups), limit in itertools.product(ORDERS, (1, 2)):
            pages = _walk(store, SearchQuery(project=PROJECT, order_by=order_by, limit=limit))
            assert all(1 <= len(page) <= limit for page in pages), (order_by, limit)
            got = [run.name for page in pages for run in page]
            assert got == self.expected_order(runs, order_by, groups), (order_by, limit)

    def test_paging_through_ties_and_missing_values(self, store: RunStore) -> None:
        rnd = random.Random(7)
        for i in range(20):
            metric = rnd.choice([0.1, 0.2, None])
            spec = {
                "start": rnd.choice([0, 1]),
                "params": {"p": rnd.choice([1, 2.5, "x", "y", None])} if i % 4 else {},
                "tags": {"t": rnd.choice(["a", "b"])} if i % 3 else {},
                "metrics": {} if metric is None else {"m": [metric]},
            }
            _add_run(store, "ties", f"r{i:02d}", spec)
        for order_by in TIE_ORDERS:
            full = store.search_runs(SearchQuery(project="ties", order_by=order_by)).items
            assert len(full) == 20
            for limit in (3, 7):
                pages = _walk(store, SearchQuery(project="ties", order_by=order_by, limit=limit))
                assert [r.id for p in pages for r in p] == [r.id for r in full], (order_by, limit)
        self._check_missing_last(store)

    def _check_missing_last(self, store: RunStore) -> None:
        for sign in ("", "-"):
            query = SearchQuery(project="ties", order_by=[f"{sign}metrics.m"])
            values = [
                r.metrics["m"].last if "m" in r.metrics else None
                for r in store.search_runs(query).items
            ]
            present = [v for v in values if v is not None]
            assert values == present + [None] * (len(values) - len(present))
            assert present == sorted(present, reverse=sign == "-")
            query = SearchQuery(project="ties", order_by=[f"{sign}params.p"])
            ranks = [_param_rank(r.params.get("p")) for r in store.search_runs(query).items]
            assert ranks == sorted(ranks)

    def test_filter_applies_on_every_page(self, store: RunStore, runs: dict[str, Run]) -> None:
        query = SearchQuery(
            project=PROJECT, filter="metrics.acc >= 0.7", order_by=["-metrics.acc"], limit=1
        )
        names = [run.name for page in _walk(store, query) for run in page]
        assert sorted(names) == ["alpha", "beta", "epsilon"]

    def test_bad_page_tokens(self, store: RunStore, runs: dict[str, Run]) -> None:
        query = SearchQuery(
            project=PROJECT, filter="metrics.acc > 0", order_by=["-metrics.acc"], limit=1
        )
        token = store.search_runs(query).next_page_token
        assert token is not None
        shape_only = base64.urlsafe_b64encode(b'{"f": "x", "k": [1]}').decode()
        for bad in ("not a token!", "", "e30", shape_only, token[::-1], token[:12], token + "x"):
            with pytest.raises(InvalidArgument) as info:
                store.search_runs(dataclasses.replace(query, page_token=bad))
            assert info.value.hint, bad
        others: list[dict[str, Any]] = [
            {"filter": "metrics.acc > 0.1"},
            {"order_by": ["metrics.acc", "name"]},
            {"project": None},
            {"include_deleted": True},
        ]
        for change in others:
            with pytest.raises(InvalidArgument, match="another search"):
                store.search_runs(dataclasses.replace(query, **change, page_token=token))
        assert store.search_runs(dataclasses.replace(query, page_token=token, limit=5)).items

    def test_limit_must_be_1_to_10000(self, store: RunStore, runs: dict[str, Run]) -> None:
        for limit in (0, -1, 10_001):
            with pytest.raises(InvalidArgument, match="limit") as info:
                store.search_runs(SearchQuery(limit=limit))
            assert info.value.hint
        assert len(store.search_runs(SearchQuery(project=PROJECT, limit=10_000)).items) == 5

    def test_project_scope(self, store: RunStore, runs: dict[str, Run]) -> None:
        everywhere = store.search_runs(SearchQuery(project=None, filter="params.lr = 0.1")).items
        assert sorted(run.name for run in everywhere) == ["alpha", "omega"]
        assert {run.project for run in everywhere} == {PROJECT, "other"}
        with pytest.raises(NotFound, match="no-such-project") as info:
            store.search_runs(SearchQuery(project="no-such-project"))
        assert info.value.hint

    def test_deleted_runs_only_on_request(self, store: RunStore, runs: dict[str, Run]) -> None:
        assert "zeta" not in self.names(store)
        with_deleted = store.search_runs(SearchQuery(project=PROJECT, include_deleted=True)).items
        zeta = with_deleted[0]
        assert (zeta.name, zeta.deleted, len(with_deleted)) == ("zeta", True, 6)
        store.restore_run(zeta.id)
        assert "zeta" in self.names(store, "params.lr = 0.1")

    def test_syntax_errors_name_position_and_token(self, store: RunStore) -> None:
        for text, position, token in SYNTAX_ERRORS:
            with pytest.raises(FilterSyntaxError) as info:
                store.search_runs(SearchQuery(filter=text))
            assert (info.value.position, info.value.token) == (position, token), text
            assert f"position {position}" in info.value.message
            assert info.value.hint
        for order_by in (["metrics.acc UP"], [""], ["colour"]):
            with pytest.raises(FilterSyntaxError):
                store.search_runs(SearchQuery(order_by=order_by))

    def test_injection_attempts_are_plain_values(
        self, store: RunStore, runs: dict[str, Run]
    ) -> None:
        for text in INJECTIONS:
            assert self.names(store, text) == [], text
        weird_keys = ["params.`lr; DROP TABLE runs`", "-tags.`x' OR 1=1 --`"]
        assert len(self.names(store, order_by=weird_keys)) == 5
        assert sorted(self.names(store)) == sorted(NAMES)
        assert store.get_run(runs["alpha"].id).params == _RUNS["alpha"]["params"]
        assert store.get_run(runs["epsilon"].id).tags == _RUNS["epsilon"]["tags"]


def _param_rank(value: ParamValue) -> int:
    """Where a param value sorts in both directions: numbers, then text (bools), then missing."""
    if value is None:
        return 2
    return 0 if isinstance(value, int | float) and not isinstance(value, bool) else 1
