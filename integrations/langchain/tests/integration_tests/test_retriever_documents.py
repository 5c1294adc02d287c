"""GenSVideoRetriever: one Document per frame, with time, span, score and the image."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest
from gens_tools import AccessDeniedError, AccessPolicy, InvalidArgumentError
from PIL import Image
from pydantic import ValidationError

from langchain_gens import GenSVideoRetriever

QUERY = "When is the event on screen?"


@pytest.fixture
def clip(video_root: Path) -> str:
    return str(video_root / "clip.mp4")


def test_documents_carry_time_span_score_and_the_picture(clip: str, event_sampler: Any, helpers: Any) -> None:
    docs = GenSVideoRetriever(video=clip, sampler=event_sampler, k=3).invoke(QUERY)
    assert [d.metadata["timestamp_s"] for d in docs] == pytest.approx([8.0, 9.0, 10.0])
    for doc in docs:
        meta = doc.metadata
        assert meta["source"] == str(Path(clip).resolve())
        assert (meta["start_s"], meta["end_s"]) == (8.0, 11.0)  # the scored span that holds the frame
        assert meta["score"] == 5.0
        assert meta["sampler"] == "event-test"
        assert meta["question"] == QUERY
        assert meta["mime_type"] == "image/jpeg"
        picture = Image.open(io.BytesIO(base64.b64decode(meta["image_base64"])))
        assert helpers.read_time_code(picture) == pytest.approx(meta["timestamp_s"], abs=1e-3)
        assert f"at {meta['timestamp_s']:.1f}s [{meta['timestamp']}] score 5" in doc.page_content
        assert "clip.mp4" in doc.page_content
        assert "relevant span 8.0-11.0s" in doc.page_content
        assert doc.id == f"{meta['source']}#t={meta['timestamp_s']:.3f}"


def test_unscored_frames_get_their_own_interval(clip: str) -> None:
    docs = GenSVideoRetriever(video=clip, sampler="uniform", k=4, image_format="none").invoke(QUERY)
    assert len(docs) == 4
    for doc in docs:
        meta = doc.metadata
        assert meta["score"] is None
        assert (meta["start_s"], meta["end_s"]) == (meta["timestamp_s"], meta["timestamp_s"] + 1.0)
        assert "image_base64" not in meta
        assert "image_path" not in meta
        assert "unscored" in doc.page_content
    times = [d.metadata["timestamp_s"] for d in docs]
    assert times == sorted(times)
    assert times[-1] - times[0] >= 10  # evenly spread over the 20 s


def test_path_mode_writes_the_frames(clip: str, event_sampler: Any, helpers: Any, tmp_path: Path) -> None:
    retriever = GenSVideoRetriever(
        video=clip, sampler=event_sampler, k=2, image_format="path", frames_dir=tmp_path / "frames"
    )
    docs = retriever.invoke(QUERY)
    assert len(docs) == 2
    for doc in docs:
        path = Path(doc.metadata["image_path"])
        assert path.is_file()
        assert path.is_relative_to(tmp_path / "frames")
        with Image.open(path) as picture:
            assert helpers.read_time_code(picture) == pytest.approx(doc.metadata["timestamp_s"], abs=1e-3)
    other = retriever.invoke("another question")
    assert Path(other[0].metadata["image_path"]).parent != Path(docs[0].metadata["image_path"]).parent


def test_invoke_arguments_override_k_and_range(clip: str, event_sampler: Any) -> None:
    retriever = GenSVideoRetriever(video=clip, sampler=event_sampler, k=6)
    docs = retriever.invoke(QUERY, k=2, start=9.0, end=14.0)
    assert [d.metadata["timestamp_s"] for d in docs] == pytest.approx([9.0, 10.0])
    bounded = GenSVideoRetriever(video=clip, sampler=event_sampler, k=2, start=12.0, end=20.0)
    times = [d.metadata["timestamp_s"] for d in bounded.invoke(QUERY)]
    assert len(times) == 2
    assert times[0] == pytest.approx(12.0)  # the only relevant frame in 12-20 s (near the event)
    assert all(12.0 <= t < 20.0 for t in times)


async def test_async_matches_sync(clip: str, event_sampler: Any) -> None:
    retriever = GenSVideoRetriever(video=clip, sampler=event_sampler, k=3)
    sync = retriever.invoke(QUERY)
    adocs = await retriever.ainvoke(QUERY)
    assert [d.page_content for d in adocs] == [d.page_content for d in sync]
    assert [d.metadata["image_base64"] for d in adocs] == [d.metadata["image_base64"] for d in sync]


def test_policy_and_bad_arguments_raise_typed_errors(video_root: Path, outside_video: Path) -> None:
    guarded = GenSVideoRetriever(video=str(outside_video), policy=AccessPolicy.allow([video_root]))
    with pytest.raises(AccessDeniedError):
        guarded.invoke(QUERY)
    with pytest.raises(InvalidArgumentError):
        GenSVideoRetriever(video=str(video_root / "clip.mp4")).invoke(QUERY, k=0)
    with pytest.raises(ValidationError, match="frames_dir"):
        GenSVideoRetriever(video="x.mp4", image_format="path")
    with pytest.raises(ValidationError, match="k must be"):
        GenSVideoRetriever(video="x.mp4", k=0)
