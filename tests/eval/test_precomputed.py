"""The GenS authors' rag file: written from selections, read back, and replayed by the precomputed sampler."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from gens_tools import sample_frames
from gens_tools.errors import InvalidArgumentError, SamplerError
from gens_tools.samplers.precomputed import PrecomputedSampler, rag_record, read_rag_file, write_rag_file


def authors_reader(path: Path) -> dict[str, list[float]]:
    """The authors' lmms-eval fork reads a rag file like this (written from its description): entries keyed
    by the video's base name, frame file name number / fps = seconds, frames by descending score."""
    out: dict[str, list[float]] = {}
    for line in path.read_text().splitlines():
        item = json.loads(line)
        by_score: dict[float, list[float]] = {}
        for image, score in zip(item["rag_images"], item["rag_sim"], strict=True):
            by_score.setdefault(score, []).append(int(Path(image).stem) / item["fps"])
        ranked: list[float] = []
        for score in sorted(by_score, reverse=True):
            ranked += sorted(by_score[score])
        out[Path(item["video_path"]).name] = ranked
    return out


def _rag_line(video: str, seconds_scores: dict[int, float], *, fps: float = 1.0, question: str | None = None) -> str:
    data: dict[str, object] = {
        "video_path": video,
        "rag_images": [f"/frames/{Path(video).stem}/{round(s * fps):05d}.jpg" for s in seconds_scores],
        "rag_sim": list(seconds_scores.values()),
        "fps": fps,
    }
    if question is not None:
        data["question"] = question
    return json.dumps(data)


def test_replays_the_best_scored_frames(tmp_path: Path, video_40s: Path) -> None:
    scores = {3: 2.0, 12: 5.0, 13: 5.0, 30: 4.0, 31: 1.0}
    rag = tmp_path / "rag.jsonl"
    rag.write_text(_rag_line("/somewhere/else/" + video_40s.name, scores) + "\n")
    sampler = PrecomputedSampler(rag).for_video(video_40s)
    selection = sample_frames(video_40s, "when is it?", sampler=sampler, k=3)
    assert selection.timestamps == [12.0, 13.0, 30.0]  # the three best, in time order
    assert [f.origin for f in selection.frames] == ["scored"] * 3
    assert selection.sampler == "precomputed"
    # With room for more, the lower scores follow before any unscored frame.
    more = sample_frames(video_40s, "when is it?", sampler=sampler, k=5)
    assert more.timestamps == [3.0, 12.0, 13.0, 30.0, 31.0]


def test_frame_numbers_follow_the_files_fps(tmp_path: Path, video_40s: Path) -> None:
    # Frames numbered at the video's native 10 fps: frame 250 is at 25 s.
    rag = tmp_path / "rag.jsonl"
    rag.write_text(_rag_line(str(video_40s), {25: 5.0, 7: 3.0}, fps=10.0) + "\n")
    assert read_rag_file(rag)[0].frames == ((7.0, 3.0), (25.0, 5.0))
    selection = sample_frames(video_40s, "q", sampler=PrecomputedSampler(rag).for_video(video_40s), k=1)
    assert selection.timestamps == [25.0]


def test_lines_are_matched_by_video_and_question(tmp_path: Path, video_40s: Path) -> None:
    rag = tmp_path / "rag.jsonl"
    rag.write_text(
        "\n".join(
            [
                _rag_line(str(video_40s), {5: 5.0}),  # no question: the video's default line
                _rag_line(str(video_40s), {20: 5.0}, question="where is the dog?"),
                _rag_line("other.mp4", {33: 5.0}, question="where is the cat?"),
            ]
        )
        + "\n"
    )
    sampler = PrecomputedSampler(rag)
    bound = sampler.for_video(video_40s)
    assert sample_frames(video_40s, "where is the dog?", sampler=bound, k=1).timestamps == [20.0]
    assert sample_frames(video_40s, "anything else", sampler=bound, k=1).timestamps == [5.0]
    # Unbound, a line is found by its question alone.
    assert sample_frames(video_40s, "where is the cat?", sampler=sampler, k=1).timestamps == [33.0]
    with pytest.raises(SamplerError, match="no entry"):
        sample_frames(video_40s, "no such question", sampler=sampler, k=1)


def test_missing_entries_error_or_fall_back_announced(tmp_path: Path, video_40s: Path) -> None:
    rag = tmp_path / "rag.jsonl"
    rag.write_text(_rag_line("another.mp4", {5: 5.0}) + "\n")
    with pytest.raises(SamplerError, match=r"no entry for video 'clip40\.mp4'"):
        sample_frames(video_40s, "q", sampler=PrecomputedSampler(rag).for_video(video_40s), k=4)
    lenient = PrecomputedSampler(rag, on_missing="uniform").for_video(video_40s)
    selection = sample_frames(video_40s, "q", sampler=lenient, k=4)
    assert selection.timestamps == [5.0, 15.0, 25.0, 35.0]
    assert not selection.windows[0].scored
    assert "frames spread evenly instead" in selection.windows[0].issues[0]


def test_written_rag_file_reads_like_the_authors_reader_and_replays(tmp_path: Path, video_40s: Path) -> None:
    scores = {i: float(random.Random(i).choice([0, 0, 1, 3, 5])) for i in range(40)}
    first = tmp_path / "first.jsonl"
    first.write_text(_rag_line(str(video_40s), scores, question="q") + "\n")
    original = sample_frames(video_40s, "q", sampler=PrecomputedSampler(first).for_video(video_40s), k=8)
    # Written back from the selection: every frame scored above 0, by frame number at the grid's rate.
    out = write_rag_file([original], tmp_path / "out.jsonl")
    line = json.loads(out.read_text())
    assert set(line) >= {"video_path", "rag_images", "rag_sim", "fps"}
    assert line["fps"] == 1.0
    assert line["question"] == "q"
    assert line["rag_images"][0] == f"clip40/{min(s for s, v in scores.items() if v > 0):06d}.jpg"
    positive = {s: v for s, v in scores.items() if v > 0}
    ranked = authors_reader(out)["clip40.mp4"]
    assert sorted(ranked) == sorted(float(s) for s in positive)
    assert [positive[int(t)] for t in ranked] == sorted(positive.values(), reverse=True)
    # Replayed, the same frames come back.
    again = sample_frames(video_40s, "q", sampler=PrecomputedSampler(out).for_video(video_40s), k=8)
    assert again.timestamps == original.timestamps


def test_unscored_selection_writes_its_chosen_frames(video_40s: Path) -> None:
    selection = sample_frames(video_40s, "q", k=4)
    line = rag_record(selection)
    assert line["rag_images"] == ["clip40/000005.jpg", "clip40/000015.jpg", "clip40/000025.jpg", "clip40/000035.jpg"]
    assert line["rag_sim"] == [0.0] * 4


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"video_path": "a.mp4", "rag_images": ["1.jpg"], "rag_sim": [1, 2], "fps": 1}', "same length"),
        ('{"video_path": "a.mp4", "rag_images": ["x.jpg"], "rag_sim": [1], "fps": 1}', "frame number"),
        ('{"video_path": "a.mp4", "rag_images": ["1.jpg"], "rag_sim": [1]}', "missing field"),
        ('{"video_path": "a.mp4", "rag_images": ["1.jpg"], "rag_sim": [1], "fps": 0}', "fps must be positive"),
        ("not json", "not JSON"),
    ],
)
def test_bad_rag_lines(tmp_path: Path, line: str, message: str) -> None:
    rag = tmp_path / "rag.jsonl"
    rag.write_text(line + "\n")
    with pytest.raises(InvalidArgumentError, match=message):
        read_rag_file(rag)
    with pytest.raises(InvalidArgumentError, match="not found"):
        read_rag_file(tmp_path / "missing.jsonl")


def test_registered_by_name(tmp_path: Path, video_40s: Path) -> None:
    from gens_tools import make_sampler, sampler_names

    rag = tmp_path / "rag.jsonl"
    rag.write_text(_rag_line(str(video_40s), {9: 5.0}, question="q") + "\n")
    assert "precomputed" in sampler_names()
    sampler = make_sampler("precomputed", path=str(rag), on_missing="uniform")
    assert isinstance(sampler, PrecomputedSampler)
    assert sample_frames(video_40s, "q", sampler=sampler, k=1).timestamps == [9.0]
