"""``FrameSelection.from_dict``: the dict/JSON form of a selection turns back into the same selection."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gens_tools.errors import InvalidArgumentError
from gens_tools.frames import Frame, FrameSelection, ScoredSpan, Timeline, WindowReport
from gens_tools.synthetic import paint_time_code, read_time_code


def _selection(times: tuple[float, ...] = (2.0, 7.5, 31.25)) -> FrameSelection:
    frames = [
        Frame(timestamp=t, image=paint_time_code(t, (128, 72)), score=float(5 - n), index=round(t), origin="scored")
        for n, t in enumerate(times)
    ]
    frames.append(Frame(timestamp=40.0, image=paint_time_code(40.0, (128, 72)), score=None, index=None))
    return FrameSelection(
        video="/videos/talk.mp4",
        question="When is the chart shown?",
        frames=frames,
        spans=[ScoredSpan(2.0, 4.0, 5.0), ScoredSpan(7.0, 9.0, 4.0)],
        sampler="gens-3b",
        fps=0.5,
        duration=3600.25,
        start=1.5,
        end=120.0,
        timings={"decode": 1.23456, "score": 9.5, "total": 11.0},
        windows=[
            WindowReport(0, 0.0, 64.0, 32, scored=True),
            WindowReport(1, 64.0, 120.0, 28, scored=False, repaired=True, issues=("truncated JSON", "bad key")),
        ],
        lost_spans=[(50.0, 52.5)],
        n_candidates=60,
        k=4,
        timeline=Timeline(start=1.5, step=2.0, scores=(None, 0.0, 5.0, 4.5), decoded=(False, True, True, True)),
        notices=["fell back to uniform sampling"],
    )


def _without_images(data: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(data)
    for frame in out["frames"]:
        frame.pop("image_base64", None)
        frame.pop("mime_type", None)
    return out


def test_base64_round_trip_rebuilds_every_field_and_the_pictures() -> None:
    original = _selection()
    data = original.to_dict(images="base64")
    back = FrameSelection.from_dict(data)

    # Everything to_dict writes comes back as it was.
    assert back.to_dict() == original.to_dict()
    assert back.spans == original.spans
    assert back.windows == original.windows
    assert back.lost_spans == [(50.0, 52.5)]
    assert back.timeline == original.timeline
    assert back.timeline is not None
    assert back.timeline.times == [1.5, 3.5, 5.5, 7.5]
    assert back.notices == ["fell back to uniform sampling"]
    assert [f.origin for f in back.frames] == ["scored", "scored", "scored", None]
    assert back.timings == {"decode": 1.2346, "score": 9.5, "total": 11.0}  # to_dict rounds to 0.1 ms
    assert (back.video, back.question, back.sampler) == (original.video, original.question, "gens-3b")
    assert (back.fps, back.duration, back.start, back.end, back.n_candidates) == (0.5, 3600.25, 1.5, 120.0, 60)
    assert [f.score for f in back.frames] == [5.0, 4.0, 3.0, None]
    assert [f.index for f in back.frames] == [2, 8, 31, None]
    # The decoded images are the pictures that were encoded (JPEG, so read the painted time, not bytes).
    for frame in back.frames:
        assert frame.image is not None
        assert frame.image.mode == "RGB"
        assert frame.image.size == (128, 72)
        assert read_time_code(frame.image) == pytest.approx(frame.timestamp, abs=1e-3)
    # And the rebuilt selection serialises again to the same dict (images re-encoded).
    assert _without_images(back.to_dict(images="base64")) == _without_images(data)


def test_json_text_round_trips() -> None:
    original = _selection((0.0, 3599.9))
    text = json.dumps(original.to_dict(images="base64"))
    back = FrameSelection.from_dict(json.loads(text))
    assert back.timestamps == [0.0, 3599.9, 40.0]
    assert read_time_code(back.frames[1].require_image()) == pytest.approx(3599.9, abs=1e-3)


def test_without_images_frames_have_none() -> None:
    back = FrameSelection.from_dict(_selection().to_dict(images="none"))
    assert back.timestamps == [2.0, 7.5, 31.25, 40.0]
    assert all(f.image is None and f.path is None for f in back.frames)


def test_saved_selection_keeps_paths_and_loads_images_from_them(tmp_path: Path) -> None:
    original = _selection()
    manifest = original.save(tmp_path / "out")
    back = FrameSelection.from_dict(json.loads(manifest.read_text()))
    assert [f.path for f in back.frames] == [f.path for f in original.frames]
    assert all(f.image is None for f in back.frames)
    for frame in back.frames:
        assert read_time_code(frame.require_image()) == pytest.approx(frame.timestamp, abs=1e-3)
    assert back.to_dict(images="paths") == original.to_dict(images="paths")


def test_minimal_dict_gets_the_defaults() -> None:
    back = FrameSelection.from_dict({"video": "v.mp4", "question": "q", "frames": [{"timestamp": 3}]})
    assert back.timestamps == [3.0]
    assert (back.sampler, back.fps, back.duration, back.start, back.end) == ("uniform", 1.0, None, None, None)
    assert (back.spans, back.windows, back.lost_spans, back.timings, back.n_candidates) == ([], [], [], {}, 0)


@pytest.mark.parametrize(
    "data",
    [
        {"video": "x"},
        {"video": "x", "question": "q", "frames": "not a list"},
        {"video": "x", "question": "q", "frames": [{"score": 3}]},
        ["video", "question", "frames"],
        None,
    ],
    ids=["missing-keys", "frames-not-list", "frame-without-time", "not-a-mapping", "none"],
)
def test_not_a_selection_is_refused(data: Any) -> None:
    with pytest.raises(InvalidArgumentError, match="not the JSON form of a FrameSelection"):
        FrameSelection.from_dict(data)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("frames", 0, "timestamp"), "soon"),
        (("spans", 0, "score"), None),
        (("windows", 0), {"index": 0}),
        (("lost_spans",), [[1.0]]),
        (("timings",), {"total": "fast"}),
        (("fps",), "fast"),
    ],
    ids=["timestamp", "span-score", "window-fields", "lost-span-pair", "timing", "fps"],
)
def test_malformed_fields_are_refused_with_a_typed_error(path: tuple[Any, ...], value: Any) -> None:
    data = _selection().to_dict()
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(InvalidArgumentError, match="not the JSON form of a FrameSelection"):
        FrameSelection.from_dict(data)


@pytest.mark.parametrize("payload", ["not base64 at all!", "aGVsbG8gd29ybGQ="], ids=["not-base64", "not-an-image"])
def test_unreadable_image_is_refused(payload: str) -> None:
    data = _selection().to_dict(images="base64")
    data["frames"][1]["image_base64"] = payload
    with pytest.raises(InvalidArgumentError, match="image_base64 is not a readable image"):
        FrameSelection.from_dict(data)
