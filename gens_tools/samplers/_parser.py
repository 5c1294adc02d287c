"""Read GenS's JSON relevance output into per-frame scores, recovering what is valid from messy text.

GenS answers a window with a JSON object whose keys are frame indices (``"33"``) or inclusive ranges
(``"11-12"``) and whose values are scores 1–5; unlisted frames score 0. Real outputs are messier: code fences,
prose around the object, JSON truncated at the token limit, keys with ``s`` suffixes (``"30s-35s"``), reversed
ranges, indices past the window. :func:`parse_gens_output` parses strictly first, then recovers every valid
``key: score`` pair, and says in ``issues`` what it had to repair. It never raises on model text.

What a hostile or broken output can cost is bounded: only the first :data:`MAX_OUTPUT_CHARS` characters are
read, keys longer than :data:`MAX_KEY_CHARS` are dropped unread, at most :data:`MAX_ISSUES` issue lines are kept
(then a count), numbers of any size (``1e400``, a 400-digit key) are dropped or clipped rather than converted,
and overlapping ranges are painted once per frame, so the time taken grows with the text's length and the
window's size, never with their product.
"""

from __future__ import annotations

import json
import math
import re
import reprlib
from dataclasses import dataclass, field
from typing import Any

from gens_tools.samplers._base import WindowScores

#: Highest score on the GenS scale.
MAX_SCORE = 5.0
#: Characters of an output that are read (GenS answers a 256-frame window in at most ~1,024 tokens, a few
#: thousand characters); the rest is ignored, with an issue saying so.
MAX_OUTPUT_CHARS = 100_000
#: Keys longer than this are not frame indices or ranges (``"120-135"``, ``"[12s] to [15s]"``); they are dropped
#: without being matched.
MAX_KEY_CHARS = 64
#: Issue lines kept per output; the rest are counted in one last line.
MAX_ISSUES = 20

_SHOW = reprlib.Repr()
_SHOW.maxstring = _SHOW.maxother = _SHOW.maxlong = 40

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.DOTALL)
# One "key": value pair. Keys may be quoted with " or ' or bare; values are numbers, optionally quoted.
_PAIR = re.compile(
    r"""(?P<q>["']?)(?P<key>[^"':{},\n]{1,40}?)(?P=q)\s*:\s*(?P<vq>["']?)(?P<val>-?\d+(?:\.\d+)?)(?P=vq)"""
    r"""(?=\s*(?:[,}\n]|$))"""
)
_WHITE = re.compile(r"\s{2,}")
_NUM = r"\[?\s*(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds)?\s*\]?"
_KEY_SINGLE = re.compile(rf"^\s*{_NUM}\s*$", re.IGNORECASE)
_KEY_RANGE = re.compile(rf"^\s*{_NUM}\s*(?:-|–|—|~|to|:)\s*{_NUM}\s*$", re.IGNORECASE)


@dataclass(slots=True)
class ParsedOutput:
    """What could be read from one window's output.

    Attributes:
        scores: one score per frame of the window (0 = not listed), or ``None`` when nothing usable was found
            (the window is then *unscored*, never all-relevant).
        entries: the ``(first, last, score)`` triples read, with inclusive local frame indices, after repairs.
        repaired: whether anything had to be repaired or dropped to read the output.
        issues: what was repaired or dropped, in words.
    """

    scores: list[float] | None
    entries: list[tuple[int, int, float]] = field(default_factory=list)
    repaired: bool = False
    issues: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the window could be scored."""
        return self.scores is not None

    def to_window_scores(
        self, window_index: int, *, raw_output: str | None = None, usage: dict[str, Any] | None = None
    ) -> WindowScores:
        """This result as the sampler interface's :class:`WindowScores`."""
        return WindowScores(
            window_index=window_index,
            scores=None if self.scores is None else list(self.scores),
            raw_output=raw_output,
            repaired=self.repaired,
            issues=list(self.issues),
            usage=dict(usage or {}),
        )


def _show(value: object) -> str:
    """``repr(value)`` cut to a readable length (a key or score can be megabytes of model text)."""
    try:
        return _SHOW.repr(value)
    except (ValueError, RecursionError):  # e.g. an int over Python's digit limit
        return f"<{type(value).__name__}>"


class _Issues(list[str]):
    """The issue lines of one output: at most :data:`MAX_ISSUES` kept, the rest only counted."""

    def __init__(self, initial: list[str] | None = None) -> None:
        super().__init__()
        self.more = 0
        for issue in initial or []:
            self.add(issue)

    def add(self, issue: str) -> None:
        if len(self) < MAX_ISSUES:
            self.append(issue)
        else:
            self.more += 1

    def lines(self) -> list[str]:
        """The issues kept, and a last line counting those left out."""
        if not self.more:
            return list(self)
        return [*self, f"... and {self.more} more repair(s) of the same kinds"]


def _one_space(run: re.Match[str]) -> str:
    return "\n" if "\n" in run.group() else " "


def _parse_key(key: str) -> tuple[float, float] | None:
    """``(first, last)`` of a key, or ``None`` when it is not a finite frame index or range."""
    if len(key) > MAX_KEY_CHARS:
        return None
    m = _KEY_SINGLE.match(key)
    if m:
        v = float(m.group(1))
        span = (v, v)
    else:
        m = _KEY_RANGE.match(key)
        if not m:
            return None
        span = (float(m.group(1)), float(m.group(2)))
    # A key of 400 digits reads as infinity: no frame has that index.
    return span if math.isfinite(span[0]) and math.isfinite(span[1]) else None


def _score_of(raw: object) -> float:
    """A score as a float; NaN when it is not a number (``True`` is not a score), infinity when it is a number
    too large for a float (a 400-digit integer)."""
    if isinstance(raw, bool):
        return math.nan
    try:
        return float(raw)  # type: ignore[arg-type]
    except OverflowError:
        return math.inf
    except (TypeError, ValueError):
        return math.nan


def _paint(entries: list[tuple[int, int, float]], n_frames: int) -> list[float]:
    """Per-frame scores where each frame keeps the highest score of the entries covering it.

    Entries are applied from the highest score down and each frame is written once (the next unwritten frame
    is found through a path-compressed pointer), so overlapping ranges cost O(entries · log + frames), not
    O(entries × frames)."""
    scores = [0.0] * n_frames
    nxt = list(range(n_frames + 1))  # nxt[i]: the first unwritten frame >= i (n_frames: none)

    def find(i: int) -> int:
        root = i
        while nxt[root] != root:
            root = nxt[root]
        while nxt[i] != root:
            nxt[i], i = root, nxt[i]
        return root

    for first, last, value in sorted(entries, key=lambda e: -e[2]):
        i = find(first)
        while i <= last:
            scores[i] = value
            nxt[i] = i + 1
            i = find(i + 1)
    return scores


def _candidate_text(text: str) -> tuple[str, list[str]]:
    """The part of ``text`` most likely to hold the JSON object, and the repairs that implied."""
    issues: list[str] = []
    if "```" in text:
        for fence in _FENCE.finditer(text):
            if "{" in fence.group(1):
                issues.append("removed a code fence")
                text = fence.group(1)
                break
    start = text.find("{")
    if start > 0 and text[:start].strip():
        issues.append("ignored text before the JSON object")
    if start >= 0:
        end = text.rfind("}")
        if end > start:
            if text[end + 1 :].strip():
                issues.append("ignored text after the JSON object")
            return text[start : end + 1], issues
        return text[start:], [*issues, "JSON object is not closed (truncated output)"]
    return text, issues


def _pairs_strict(candidate: str) -> list[tuple[str, Any]] | None:
    try:
        obj = json.loads(candidate, object_pairs_hook=list)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, list) or (obj and not all(isinstance(p, tuple) for p in obj)):
        return None
    return [(str(k), v) for k, v in obj]


def parse_gens_output(text: str, n_frames: int, *, clamp_ranges: bool = True) -> ParsedOutput:
    """Parse one window's GenS output into per-frame scores.

    Args:
        text: the model's raw answer.
        n_frames: frames in the window (valid local indices are ``0 … n_frames-1``).
        clamp_ranges: clip ranges that run past the window to its last frame (single indices past the
            window are always dropped).

    Returns:
        A :class:`ParsedOutput`. Where ranges overlap, a frame keeps its highest score. An empty JSON object
        is a valid answer (nothing relevant: all zeros).
    """
    if n_frames <= 0:
        raise ValueError("n_frames must be positive")
    if not isinstance(text, str):
        return ParsedOutput(None, repaired=True, issues=[f"output is not text ({type(text).__name__})"])
    issues = _Issues()
    if len(text) > MAX_OUTPUT_CHARS:
        issues.add(f"output is {len(text):,} characters long; only the first {MAX_OUTPUT_CHARS:,} were read")
        text = text[:MAX_OUTPUT_CHARS]
    candidate, found = _candidate_text(text.strip())
    for issue in found:
        issues.add(issue)
    pairs = _pairs_strict(candidate)
    found_object = pairs is not None
    if pairs is None:
        # Runs of white space folded to one character first: the pair pattern then never backtracks over them.
        matches = list(_PAIR.finditer(_WHITE.sub(_one_space, candidate)))
        pairs = [(m.group("key"), m.group("val")) for m in matches]
        if matches:
            issues.add("output is not valid JSON; recovered the readable key/score pairs")
            found_object = True
        elif re.fullmatch(r"\{\s*\}", candidate.strip()):
            found_object = True  # "{}" with prose around it: nothing relevant listed
    if not found_object:
        issues.add("no JSON relevance object found")
        return ParsedOutput(None, repaired=True, issues=issues.lines())

    entries: list[tuple[int, int, float]] = []
    readable = 0
    for raw_key, raw_val in pairs:
        key = str(raw_key).strip()
        span = _parse_key(key)
        if span is None:
            issues.add(f"dropped key {_show(key)}: not a frame index or range")
            continue
        value = _score_of(raw_val)
        if not math.isfinite(value):
            issues.add(f"dropped {_show(key)}: score {_show(raw_val)} is not a finite number")
            continue
        if value < 0 or value > MAX_SCORE:
            clipped = min(max(value, 0.0), MAX_SCORE)
            issues.add(f"score {value:g} for {_show(key)} clipped to {clipped:g}")
            value = clipped
        readable += 1
        a, b = span
        if a != int(a) or b != int(b):
            issues.add(f"rounded fractional index in {_show(key)}")
        first, last = round(a), round(b)
        if first > last:
            issues.add(f"reversed range {_show(key)} read as {last}-{first}")
            first, last = last, first
        if first >= n_frames:
            issues.add(f"dropped {_show(key)}: past the window's last frame ({n_frames - 1})")
            continue
        if last >= n_frames:
            if not clamp_ranges:
                issues.add(f"dropped {_show(key)}: runs past the window's last frame ({n_frames - 1})")
                continue
            issues.add(f"range {_show(key)} clipped to the window's last frame ({n_frames - 1})")
            last = n_frames - 1
        entries.append((first, last, value))
    if pairs and not readable:
        issues.add("no usable frame/score pair in the output")
        return ParsedOutput(None, repaired=True, issues=issues.lines())
    lines = issues.lines()
    return ParsedOutput(_paint(entries, n_frames), entries=entries, repaired=bool(lines), issues=lines)


def format_gens_output(entries: dict[str, float] | list[tuple[int, int, float]]) -> str:
    """Write scores in GenS's own output format (``{"11-12": 5, "33": 2}``); useful for tests and fakes."""
    if isinstance(entries, dict):
        return json.dumps({k: _as_number(v) for k, v in entries.items()})
    obj: dict[str, float | int] = {}
    for first, last, score in entries:
        obj[str(first) if first == last else f"{first}-{last}"] = _as_number(score)
    return json.dumps(obj)


def _as_number(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)
