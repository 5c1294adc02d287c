"""Read GenS's JSON relevance output into per-frame scores, recovering what is valid from messy text.

GenS answers a window with a JSON object whose keys are frame indices (``"33"``) or inclusive ranges
(``"11-12"``) and whose values are scores 1–5; unlisted frames score 0. Real outputs are messier: code fences,
prose around the object, JSON truncated at the token limit, keys with ``s`` suffixes (``"30s-35s"``), reversed
ranges, indices past the window. :func:`parse_gens_output` parses strictly first, then recovers every valid
``key: score`` pair, and says in ``issues`` what it had to repair. It never raises on model text.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from gens_tools.samplers._base import WindowScores

#: Highest score on the GenS scale.
MAX_SCORE = 5.0

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.DOTALL)
# One "key": value pair. Keys may be quoted with " or ' or bare; values are numbers, optionally quoted.
_PAIR = re.compile(
    r"""(?P<q>["']?)(?P<key>[^"':{},\n]{1,40}?)(?P=q)\s*:\s*(?P<vq>["']?)(?P<val>-?\d+(?:\.\d+)?)(?P=vq)"""
    r"""(?=\s*(?:[,}\n]|$))"""
)
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


def _parse_key(key: str) -> tuple[float, float] | None:
    m = _KEY_SINGLE.match(key)
    if m:
        v = float(m.group(1))
        return v, v
    m = _KEY_RANGE.match(key)
    if m:
        return float(m.group(1)), float(m.group(2))
    return None


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
    candidate, issues = _candidate_text(text.strip())
    pairs = _pairs_strict(candidate)
    found_object = pairs is not None
    if pairs is None:
        matches = list(_PAIR.finditer(candidate))
        pairs = [(m.group("key"), m.group("val")) for m in matches]
        if matches:
            issues.append("output is not valid JSON; recovered the readable key/score pairs")
            found_object = True
        elif re.fullmatch(r"\{\s*\}", candidate.strip()):
            found_object = True  # "{}" with prose around it: nothing relevant listed
    if not found_object:
        return ParsedOutput(None, repaired=True, issues=[*issues, "no JSON relevance object found"])

    scores = [0.0] * n_frames
    entries: list[tuple[int, int, float]] = []
    readable = 0
    for raw_key, raw_val in pairs:
        key = str(raw_key).strip()
        span = _parse_key(key)
        if span is None:
            issues.append(f"dropped key {key!r}: not a frame index or range")
            continue
        try:
            value = float(raw_val) if not isinstance(raw_val, bool) else math.nan
        except (TypeError, ValueError):
            value = math.nan
        if not math.isfinite(value):
            issues.append(f"dropped {key!r}: score {raw_val!r} is not a number")
            continue
        if value < 0 or value > MAX_SCORE:
            clipped = min(max(value, 0.0), MAX_SCORE)
            issues.append(f"score {value:g} for {key!r} clipped to {clipped:g}")
            value = clipped
        readable += 1
        a, b = span
        if a != int(a) or b != int(b):
            issues.append(f"rounded fractional index in {key!r}")
        first, last = round(a), round(b)
        if first > last:
            issues.append(f"reversed range {key!r} read as {last}-{first}")
            first, last = last, first
        if first >= n_frames:
            issues.append(f"dropped {key!r}: past the window's last frame ({n_frames - 1})")
            continue
        if last >= n_frames:
            if not clamp_ranges:
                issues.append(f"dropped {key!r}: runs past the window's last frame ({n_frames - 1})")
                continue
            issues.append(f"range {key!r} clipped to the window's last frame ({n_frames - 1})")
            last = n_frames - 1
        entries.append((first, last, value))
        for i in range(first, last + 1):
            if value > scores[i]:
                scores[i] = value
    if pairs and not readable:
        return ParsedOutput(None, repaired=True, issues=[*issues, "no usable frame/score pair in the output"])
    return ParsedOutput(scores, entries=entries, repaired=bool(issues), issues=issues)


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
