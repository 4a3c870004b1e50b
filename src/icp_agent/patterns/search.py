"""Subgroup discovery: the conjunctions of selectors whose rows over-index on a target.

Quality is pysubgroup's: WRAcc generalised by `a`, (n/N)^a * (k/n - K/N) (StandardQF(a)), or
lift, (k/n) / (K/N), among segments of at least `min_support` rows. The search is exhaustive
(depth-first, each field at most once per conjunction, fields in a fixed order so every
conjunction is visited once) with optimistic-estimate pruning; when the number of candidate
conjunctions exceeds `max_exhaustive_candidates` it falls back to a beam search.

How one node is evaluated: the selector codes (see selectors.py) are combined with the target
into one matrix, value = 2 * (column offset + code) + target. For the rows of a segment, one
`bincount` over that matrix restricted to the later fields gives, for every code, how many rows
and positives have it; a sparse code-to-selector incidence matrix turns that into (n, k) of
every one-selector refinement. The cost is proportional to the segment's rows, and segments
shrink fast, so deep levels are cheap. The "bad" direction is the same call with another target.

Determinism: patterns are ordered by quality desc, then size desc, then fewer selectors, then
labels; pruning only drops branches that cannot reach the current k-th best quality, so ties
are resolved the same way whatever the visiting order.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import sparse

from icp_agent.patterns.selectors import Selector, SelectorSet

Quality = Literal["wracc", "lift"]

_HISTOGRAM_CHUNK = 1 << 18  # values per bincount call: its int64 copy of them stays cache-sized
_JOINT_BINS = 1 << 20  # largest joint histogram (codes x matrix values) a node counts its leaves from
_JOINT_CHUNK = 1 << 14  # rows per bincount call of a joint histogram (their int64 keys stay cache-sized)
DEFAULT_MAX_EXHAUSTIVE_CANDIDATES = 5_000_000
DEFAULT_BEAM_WIDTH = 100


@dataclass(frozen=True)
class Pattern:
    """A conjunction of selectors (in SelectorSet order) with its size, positives and quality."""

    selectors: tuple[Selector, ...]
    n: int
    k: int
    quality: float

    @property
    def label(self) -> str:
        """The pattern in words: its selectors' labels joined with AND."""
        return " AND ".join(s.label for s in self.selectors)

    def criteria(self) -> list[dict]:
        """The pattern's selectors as icp.json criteria (dicts)."""
        return [s.criterion() for s in self.selectors]


@dataclass(frozen=True)
class SearchResult:
    """Best patterns first. `tested` counts every conjunction whose support reached
    min_support and whose quality was computed: the family size for Benjamini-Hochberg."""

    patterns: list[Pattern]
    tested: int
    n_total: int
    k_total: int
    exhaustive: bool
    candidate_space: int


def search(
    selset: SelectorSet,
    target: np.ndarray,
    *,
    depth: int = 3,
    min_support: int = 1,
    quality: Quality = "wracc",
    a: float = 1.0,
    top_k: int = 10,
    max_exhaustive_candidates: int = DEFAULT_MAX_EXHAUSTIVE_CANDIDATES,
    beam_width: int = DEFAULT_BEAM_WIDTH,
) -> SearchResult:
    """The top_k conjunctions of at most `depth` selectors by quality (module doc)."""
    if quality not in ("wracc", "lift"):
        raise ValueError(f"quality must be 'wracc' or 'lift', not {quality!r}")
    if not 0.0 <= a <= 1.0:
        raise ValueError("a must lie in [0, 1]: the optimistic estimate that prunes the search assumes it")
    if depth < 1 or top_k < 1 or beam_width < 1:
        raise ValueError("depth, top_k and beam_width must be at least 1")
    searcher = _Searcher(selset, _as_target(selset, target), quality, a, max(min_support, 1), top_k)
    space = candidate_space(selset, depth)
    exhaustive = space <= max_exhaustive_candidates
    if exhaustive:
        searcher.depth_first(depth)
    else:
        searcher.beam(depth, beam_width)
    return SearchResult(
        patterns=searcher.patterns(),
        tested=searcher.tested,
        n_total=selset.n,
        k_total=searcher.k_total,
        exhaustive=exhaustive,
        candidate_space=space,
    )


def candidate_space(selset: SelectorSet, depth: int) -> int:
    """How many conjunctions of 1..depth selectors on distinct fields exist."""
    per_field = np.bincount(selset.selector_field, minlength=len(selset.fields))
    ways = [1] + [0] * depth  # ways[d]: conjunctions of d selectors over the fields seen so far
    for count in per_field.tolist():
        for d in range(depth, 0, -1):
            ways[d] += ways[d - 1] * count
    return sum(ways[1:])


def evaluate(
    selset: SelectorSet, target: np.ndarray, conjunctions: Sequence[Sequence[Selector]]
) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) of each conjunction: rows covered and target rows covered."""
    positives = _as_target(selset, target)
    sizes = np.zeros(len(conjunctions), dtype=np.int64)
    hits = np.zeros(len(conjunctions), dtype=np.int64)
    for i, conjunction in enumerate(conjunctions):
        covered = np.ones(selset.n, dtype=bool)
        for selector in conjunction:
            covered &= selset.mask(selector)
        sizes[i] = np.count_nonzero(covered)
        hits[i] = np.count_nonzero(covered & positives)
    return sizes, hits


def beats_parts(pattern: Pattern, target: np.ndarray, selset: SelectorSet) -> bool:
    """True when the pattern's target rate is above that of every proper, non-empty part of it.

    A combination such as "A AND B" is worth reporting only if adding B raised the rate of A
    (and the other way round); otherwise the shorter pattern says the same thing.
    """
    parts = [
        subset
        for size in range(1, len(pattern.selectors))
        for subset in itertools.combinations(pattern.selectors, size)
    ]
    if not parts:
        return True
    sizes, hits = evaluate(selset, target, parts)
    rate = pattern.k / pattern.n
    return bool(np.all(hits < rate * sizes))


def part_test_pvalue(pattern: Pattern, target: np.ndarray, selset: SelectorSet) -> float:
    """One-sided p-value that a combination beats its best part: the largest over its proper parts.

    For each proper, non-empty part P (e.g. "A" and "B" of "A AND B"), the rows of P are split into
    those inside the combination and the rest of P, and a one-sided Fisher exact test
    (hypergeometric upper tail) asks whether the combination's rate is higher than that rest's.
    The combination adds something only if it does so against every part, so the p-value is the
    maximum. 0.0 for a single selector (nothing to beat). Adjust these p-values for the number
    of combinations tested (Holm) before using them.
    """
    from scipy.stats import hypergeom

    parts = [
        subset
        for size in range(1, len(pattern.selectors))
        for subset in itertools.combinations(pattern.selectors, size)
    ]
    if not parts:
        return 0.0
    sizes, hits = evaluate(selset, target, parts)
    # rows of the part: sizes; positives of the part: hits; drawn: the combination's n, of which k positive
    p = hypergeom.sf(pattern.k - 1, sizes, hits, pattern.n)
    return float(np.max(p))


def _as_target(selset: SelectorSet, target: np.ndarray) -> np.ndarray:
    positives = np.asarray(target)
    if positives.shape != (selset.n,):
        raise ValueError(f"target has shape {positives.shape}, expected ({selset.n},): one flag per row")
    return positives.astype(bool, copy=False)


class _Searcher:
    """State of one search: the code/target matrix, the best patterns so far, the test count.

    A segment is handled as its *block*: its rows' columns of the matrix, from the first column
    its refinements may use onwards (columns x rows, contiguous). Refining copies the kept rows
    out of the parent's block, which is small and contiguous, so no node ever gathers from the
    full matrix, and a segment's later columns are one contiguous slice for `bincount`. Blocks
    are written into one reusable buffer per depth: fresh multi-megabyte arrays per node would
    cost more in page faults than the copying itself.
    """

    def __init__(
        self, selset: SelectorSet, target: np.ndarray, quality: Quality, a: float, min_support: int, top_k: int
    ):
        self.selset, self.quality, self.a = selset, quality, a
        self.min_support, self.top_k = min_support, top_k
        self.n_total = selset.n
        self.k_total = int(np.count_nonzero(target))
        if self.k_total in (0, self.n_total):
            raise ValueError("the target is the same for every row: nothing can over-index")
        self.base_rate = self.k_total / self.n_total
        self.tested = 0
        self._best: list[tuple[tuple, tuple[int, ...], int, int, float]] = []

        self.code_offset = np.concatenate([[0], np.cumsum(selset.column_cardinality)]).astype(np.int64)
        n_codes = int(self.code_offset[-1])
        self.n_bins = 2 * n_codes
        dtype = np.uint16 if self.n_bins <= 2**16 else np.uint32
        self.matrix = selset.codes.astype(dtype)  # then updated in place: no temporary of the matrix's size
        np.add(self.matrix, self.code_offset[:-1, None].astype(dtype), out=self.matrix)
        np.left_shift(self.matrix, 1, out=self.matrix)
        np.bitwise_or(self.matrix, target.astype(dtype), out=self.matrix)

        n_selectors = len(selset.selectors)
        member_codes = [np.flatnonzero(selset.member_table(i)) for i in range(n_selectors)]
        rows = np.repeat(np.arange(n_selectors), [len(codes) for codes in member_codes])
        cols = (
            np.concatenate(
                [self.code_offset[column] + codes for column, codes in zip(selset.selector_column, member_codes)]
            )
            if n_selectors
            else np.zeros(0, dtype=np.int64)
        )
        incidence = sparse.csr_array((np.ones(rows.size, dtype=np.int64), (rows, cols)), shape=(n_selectors, n_codes))
        # Selectors and columns are grouped by field: the refinements allowed after field f - 1
        # are the selectors from first_selector[f] on, stored in columns from first_column[f] on.
        n_fields = len(selset.fields)
        self.first_selector = np.searchsorted(selset.selector_field, np.arange(n_fields + 1))
        self.first_column = np.array(
            [selset.selector_column[s] if s < n_selectors else selset.codes.shape[0] for s in self.first_selector]
        )
        self._tails = [
            incidence[self.first_selector[f] :, self.code_offset[self.first_column[f]] :] for f in range(n_fields)
        ]
        self._buffers: dict[int, np.ndarray] = {}

    # quality -----------------------------------------------------------------------------
    def quality_of(self, n: np.ndarray, k: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.quality == "lift":
                return (k / n) / self.base_rate
            return (n / self.n_total) ** self.a * (k / n - self.base_rate)

    def optimistic_estimate(self, k: np.ndarray) -> np.ndarray:
        """Best quality any sub-segment of a segment with k positives can reach.

        A sub-segment keeping all k positives and nothing else is best for WRAcc with a <= 1
        (pysubgroup's StandardQF estimate); min_support forbids going below its size, and for
        lift that is the binding limit: rate <= min(1, k / min_support). In every case the
        estimate is the quality of a sub-segment of max(k, min_support) rows holding all k
        positives, and no larger sub-segment reaches it.
        """
        return self.quality_of(np.maximum(k, self.min_support).astype(float), k.astype(float))

    # top-k -------------------------------------------------------------------------------
    def threshold(self) -> float:
        return self._best[-1][4] if len(self._best) == self.top_k else -np.inf

    def could_enter(self, estimate: np.ndarray, k: np.ndarray, length: int) -> np.ndarray:
        """Whether a conjunction of `length` or more selectors inside a segment with optimistic
        estimate `estimate` and k positives could still enter the top-k.

        Beyond "estimate >= k-th best quality", ties count: no sub-segment reaching the estimate
        has more than max(k, min_support) rows (see optimistic_estimate), so it loses the tie to
        a pattern at least that large with no more selectors. Without this, lift searches, where
        many pure segments tie at the maximum, would never prune.
        """
        if len(self._best) < self.top_k:
            return np.ones(np.shape(estimate), dtype=bool)
        _, conjunction, worst_n, _, worst_quality = self._best[-1]
        size = np.maximum(k, self.min_support)
        wins_tie = (size > worst_n) | ((size == worst_n) & (length <= len(conjunction)))
        return (estimate > worst_quality) | ((estimate == worst_quality) & wins_tie)

    def offer(self, conjunction: tuple[int, ...], n: int, k: int, quality: float) -> None:
        labels = tuple(self.selset.selectors[s].label for s in conjunction)
        key = (-quality, -n, len(conjunction), labels, conjunction)
        if len(self._best) == self.top_k and key >= self._best[-1][0]:
            return
        bisect.insort(self._best, (key, conjunction, n, k, quality), key=lambda entry: entry[0])
        del self._best[self.top_k :]

    def patterns(self) -> list[Pattern]:
        return [
            Pattern(tuple(self.selset.selectors[s] for s in conjunction), n, k, quality)
            for _, conjunction, n, k, quality in self._best
        ]

    # evaluation --------------------------------------------------------------------------
    def refinements(self, block: np.ndarray, block_column: int, field: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, k) of the selectors of fields >= `field` within a segment, given its block."""
        column = self.first_column[field]
        return self.refinements_from(_histogram(block[column - block_column :].ravel(), self.n_bins), field)

    def refinements_from(self, counts: np.ndarray, field: int) -> tuple[np.ndarray, np.ndarray]:
        """(n, k) of the selectors of fields >= `field` from a segment's histogram (n_bins values: rows per
        matrix value; only the columns of those fields are read)."""
        counts = counts[2 * self.code_offset[self.first_column[field]] :]
        incidence = self._tails[field]
        k = incidence @ counts[1::2]
        return (incidence @ counts[0::2]) + k, k

    def leaf_counts(
        self,
        block: np.ndarray,
        block_column: int,
        selector: int,
        child_column: int,
        column_codes: dict[int, np.ndarray],
        joints: dict[int, np.ndarray],
    ) -> np.ndarray | None:
        """The histogram of the segment's rows that also satisfy `selector`, over the columns from
        `child_column` on, read off a joint histogram (code of the selector's column x matrix value)
        counted once per column of the block and kept in `joints`. None when that histogram would be
        too large (a column of thousands of codes): the caller narrows the block instead."""
        column = int(self.selset.selector_column[selector])
        joint = joints.get(column)
        if joint is None:
            cardinality = int(self.selset.column_cardinality[column])
            if cardinality * self.n_bins > _JOINT_BINS:
                return None
            codes = column_codes.get(column)
            if codes is None:
                codes = column_codes[column] = (block[column - block_column] >> 1) - block.dtype.type(
                    self.code_offset[column]
                )
            tail = block[child_column - block_column :]
            joint = np.zeros(cardinality * self.n_bins, dtype=np.int64)
            rows = min(_JOINT_CHUNK, tail.shape[1])
            base, keys = np.empty(rows, dtype=np.int64), np.empty(tail.shape[0] * rows, dtype=np.int64)
            for start in range(0, tail.shape[1], _JOINT_CHUNK):
                m = min(_JOINT_CHUNK, tail.shape[1] - start)
                np.multiply(codes[start : start + m], self.n_bins, out=base[:m], dtype=np.int64)
                chunk = keys[: tail.shape[0] * m].reshape(tail.shape[0], m)
                np.add(tail[:, start : start + m], base[None, :m], out=chunk)
                joint += np.bincount(chunk.ravel(), minlength=joint.size)
            joint = joints[column] = joint.reshape(cardinality, self.n_bins)
        return joint[self.selset.member_table(selector)].sum(axis=0)

    def narrow(
        self,
        block: np.ndarray,
        block_column: int,
        selector: int,
        size: int,
        child_column: int,
        level: int,
        column_codes: dict[int, np.ndarray],
    ) -> np.ndarray:
        """The block of the `size` rows of the segment that also satisfy `selector`.

        It holds the columns from child_column on and lives in the buffer of its depth `level`.
        `column_codes` caches the segment's codes per column for sibling selectors.
        """
        column = self.selset.selector_column[selector]
        codes = column_codes.get(column)
        if codes is None:
            # in the block's own unsigned type: an int64 offset would promote every code to 8 bytes
            codes = column_codes[column] = (block[column - block_column] >> 1) - block.dtype.type(
                self.code_offset[column]
            )
        slot = self.selset.selector_slot[selector]
        inside = (codes >> slot) & 1 == 1 if self.selset.column_bitmask[column] else codes == slot
        buffer = self._buffers.get(level)
        if buffer is None:
            buffer = self._buffers[level] = np.empty(self.matrix.size, dtype=self.matrix.dtype)
        child = buffer[: (self.matrix.shape[0] - child_column) * size].reshape(-1, size)
        return np.compress(inside, block[child_column - block_column :], axis=1, out=child)

    # exhaustive search -------------------------------------------------------------------
    def depth_first(self, depth: int) -> None:
        if self.selset.selectors:
            self._expand(self.matrix, 0, (), 0, depth)

    def _expand(
        self,
        block: np.ndarray | None,
        block_column: int,
        conjunction: tuple[int, ...],
        field: int,
        depth: int,
        counts: np.ndarray | None = None,
    ) -> None:
        """Offer the segment's refinements from `field` on and recurse; a leaf (depth 1) may come with its
        histogram already counted (`counts`, see leaf_counts) instead of its block."""
        if counts is not None:
            n, k = self.refinements_from(counts, field)
        else:
            assert block is not None
            n, k = self.refinements(block, block_column, field)
        first = self.first_selector[field]
        quality = self.quality_of(n, k)
        eligible = n >= self.min_support
        self.tested += int(np.count_nonzero(eligible))
        by_quality = np.flatnonzero(eligible)[np.argsort(-quality[eligible], kind="stable")]
        for i in by_quality:
            if quality[i] < self.threshold():
                break
            self.offer(conjunction + (first + i,), int(n[i]), int(k[i]), float(quality[i]))
        if depth == 1:
            return
        assert block is not None
        estimate = self.optimistic_estimate(k)
        grandchild_length = len(conjunction) + 2
        column_codes: dict[int, np.ndarray] = {}
        candidates = by_quality[self.could_enter(estimate[by_quality], k[by_quality], grandchild_length)]
        # children that are leaves are counted from one joint histogram per column of this block when two or more
        # of them share the column: the same figures without copying each child's rows out first
        shared: set[int] = set()
        if depth == 2:
            columns, times = np.unique(self.selset.selector_column[first + candidates], return_counts=True)
            shared = {int(c) for c in columns[times > 1]}
        joints: dict[int, np.ndarray] = {}
        for i in candidates:
            if not self.could_enter(estimate[i], k[i], grandchild_length):  # the top-k fills as we go
                continue
            selector = first + i
            child_field = self.selset.selector_field[selector] + 1
            if child_field == len(self.selset.fields):
                continue
            child_column = self.first_column[child_field]
            if int(self.selset.selector_column[selector]) in shared:
                counts = self.leaf_counts(block, block_column, selector, child_column, column_codes, joints)
                if counts is not None:
                    self._expand(None, child_column, conjunction + (selector,), child_field, 1, counts=counts)
                    continue
            child = self.narrow(block, block_column, selector, int(n[i]), child_column, len(conjunction), column_codes)
            self._expand(child, child_column, conjunction + (selector,), child_field, depth - 1)

    # beam search -------------------------------------------------------------------------
    def beam(self, depth: int, width: int) -> None:
        """Level by level, refining only the `width` best conjunctions of the previous level."""
        beam: list[tuple[int, ...]] = [()]
        for _ in range(depth):
            found: dict[tuple[int, ...], tuple[int, int, float]] = {}
            for conjunction in beam:
                n, k = self.refinements(self._block_of(conjunction), 0, 0)
                quality = self.quality_of(n, k)
                used = {self.selset.selector_field[s] for s in conjunction}
                for s in np.flatnonzero(n >= self.min_support):
                    if self.selset.selector_field[s] not in used:
                        found.setdefault(
                            tuple(sorted((*conjunction, int(s)))), (int(n[s]), int(k[s]), float(quality[s]))
                        )
            self.tested += len(found)
            ranked = sorted(found.items(), key=lambda item: (-item[1][2], -item[1][0], item[0]))
            for conjunction, (n_rows, k_rows, quality_value) in ranked:
                if quality_value < self.threshold():
                    break
                self.offer(conjunction, n_rows, k_rows, quality_value)
            beam = [conjunction for conjunction, _ in ranked[:width]]

    def _block_of(self, conjunction: tuple[int, ...]) -> np.ndarray:
        """The segment's block, rebuilt from the selectors' masks: holding every beam member's
        block at once could take width x the matrix in memory."""
        if not conjunction:
            return self.matrix
        covered = np.ones(self.n_total, dtype=bool)
        for selector in conjunction:
            covered &= self.selset.mask(selector)
        return np.take(self.matrix, np.flatnonzero(covered), axis=1)


def _histogram(values: np.ndarray, n_bins: int) -> np.ndarray:
    """np.bincount in chunks: bincount first copies its input to int64, and a fresh
    multi-megabyte copy per call costs more (page faults, cache misses) than the counting."""
    if values.size <= _HISTOGRAM_CHUNK:
        return np.bincount(values, minlength=n_bins)
    counts = np.zeros(n_bins, dtype=np.int64)
    for start in range(0, values.size, _HISTOGRAM_CHUNK):
        counts += np.bincount(values[start : start + _HISTOGRAM_CHUNK], minlength=n_bins)
    return counts
