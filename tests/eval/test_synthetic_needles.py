"""The synthetic needle benchmark: the needles really are in the videos, where the items say."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest
from PIL import Image

from gens_tools.errors import InvalidArgumentError
from gens_tools.eval import read_items
from gens_tools.synthetic import (
    NEEDLE_COLOURS,
    Needle,
    make_needle_video,
    needle_answer,
    paint_needle_frame,
    read_needle,
    read_time_code,
)


def _jpeg(image: Image.Image, quality: int = 60, side: int | None = None) -> Image.Image:
    if side:
        image = image.resize((side, round(side * image.height / image.width)))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


@pytest.mark.parametrize("colour", [*NEEDLE_COLOURS, None])
def test_needle_colour_survives_compression_and_shrinking(colour: str | None) -> None:
    frame = paint_needle_frame(123.0, (320, 180), colour)
    for image in (frame, _jpeg(frame), _jpeg(frame, 40, side=96)):
        assert read_needle(image) == colour
        assert read_time_code(image) == 123.0


def test_needle_video_shows_needles_exactly_when_planned(tmp_path: Path) -> None:
    needles = [Needle("red", 10.0, 13.0), Needle("cyan", 40.0, 44.0)]
    video = make_needle_video(tmp_path / "n.mp4", 60.0, needles, fps=1.0, size=(160, 90))
    seen = {}
    with av.open(str(video)) as container:  # read with PyAV directly, not gens-tools' readers
        for frame in container.decode(video=0):
            image = frame.to_image()
            seen[round(read_time_code(image))] = read_needle(image)
    assert len(seen) == 60
    assert {t for t, c in seen.items() if c == "red"} == {10, 11, 12}
    assert {t for t, c in seen.items() if c == "cyan"} == {40, 41, 42, 43}
    assert sum(c is not None for c in seen.values()) == 7
    with pytest.raises(InvalidArgumentError, match="overlap"):
        make_needle_video(tmp_path / "x.mp4", 60.0, [Needle("red", 1, 5), Needle("blue", 4, 8)])


def test_benchmark_items_match_their_videos(needles: Path) -> None:
    items = read_items(needles)
    assert len(items) == 6
    assert {i.category for i in items} == {"needle", "order"}
    assert {i.duration_bucket for i in items} == {"short", "long"}
    for item in items:
        assert Path(item.video).is_file()
        assert item.answer is not None
        correct = item.options[item.letters.index(item.answer)]
        with av.open(item.video) as container:
            rate = float(container.streams.video[0].average_rate)
            shown = {}
            for frame in container.decode(video=0):
                colour = read_needle(frame.to_image())
                if colour:
                    shown.setdefault(colour, []).append(float(frame.pts * frame.time_base))
        spans = item.relevant_spans
        if item.category == "needle":
            ((a, b),) = spans
            assert min(shown[correct]) == a
            assert max(shown[correct]) == b - 1 / rate
            assert [o for o in item.options if o in shown] == [correct]
        else:
            assert min(shown[correct]) == spans[0][0] < spans[1][0]


def test_needle_answer_reads_the_frames() -> None:
    prompt = "Question: Which of these colours appears first?\nA. blue\nB. red\nC. green\nD. cyan\nAnswer with …"
    frames = [(f"[{t}]", paint_needle_frame(t, colour=c)) for t, c in [(5.0, None), (30.0, "red"), (20.0, "cyan")]]
    assert needle_answer(prompt, frames).endswith("The answer is D.")  # cyan, seen first (20 s)
    assert needle_answer(prompt, frames[:2]).endswith("The answer is B.")
    assert needle_answer(prompt, frames[:1]).endswith("Answer: A")  # nothing seen: a guess
