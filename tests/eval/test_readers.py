"""Benchmark readers on small annotation files written here in each benchmark's published format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gens_tools.errors import InvalidArgumentError
from gens_tools.eval import (
    EvalItem,
    load_benchmark,
    read_items,
    read_longvideobench,
    read_mlvu,
    read_videomme,
    write_items,
)

LVB_RECORD = {
    "video_id": "86CxyhFV9MI",
    "question": "In the video, which subtitles appear at the same time as the man in grey on stage?",
    "question_wo_referring_query": "Which subtitles appear at the same time?",
    "candidates": ["promise has come to an end", "run away countless times", "I was just scared", "still here"],
    "correct_choice": 2,
    "position": [1234],
    "topic_category": "NP-News-Programs",
    "question_category": "TOS",
    "level": "L2-Relation",
    "id": "86CxyhFV9MI_0",
    "video_path": "86CxyhFV9MI.mp4",
    "subtitle_path": "86CxyhFV9MI_en.json",
    "duration_group": 600,
    "starting_timestamp_for_subtitles": 0,
    "duration": 497.2,
    "view_count": 123,
}


def test_longvideobench_json(tmp_path: Path) -> None:
    second = {
        **LVB_RECORD,
        "id": "abc_1",
        "video_path": "abc.mp4",
        "candidates": ["a", "b", "c", "d", "e"],
        "correct_choice": 4,
        "duration_group": 3600,
        "question_category": "E2O",
    }
    (tmp_path / "lvb_val.json").write_text(json.dumps([LVB_RECORD, second]))
    items = read_longvideobench(tmp_path / "lvb_val.json")
    assert [i.id for i in items] == ["86CxyhFV9MI_0", "abc_1"]
    first = items[0]
    assert first.video == str(tmp_path / "videos" / "86CxyhFV9MI.mp4")
    assert first.question == LVB_RECORD["question"]
    assert first.options == tuple(LVB_RECORD["candidates"])
    assert first.answer == "C"
    assert (first.category, first.duration_bucket, first.duration) == ("TOS", "600", 497.2)
    assert first.relevant_spans == ()  # `position` is not taken as a span
    assert first.meta == {"video_id": "86CxyhFV9MI", "topic_category": "NP-News-Programs", "level": "L2-Relation"}
    assert items[1].answer == "E"
    assert items[1].letters == ("A", "B", "C", "D", "E")
    assert "E. e" in items[1].prompt()
    assert items[1].prompt().startswith("Question: In the video")
    assert items[1].prompt().endswith("Answer with the option's letter from the given choices directly.")


def test_longvideobench_test_split_has_no_answers_and_video_root(tmp_path: Path) -> None:
    record = {k: v for k, v in LVB_RECORD.items() if k != "correct_choice"}
    (tmp_path / "lvb_test_wo_gt.json").write_text(json.dumps([record]))
    items = read_longvideobench(tmp_path / "lvb_test_wo_gt.json", video_root="/data/lvb")
    assert items[0].answer is None
    assert items[0].video == "/data/lvb/86CxyhFV9MI.mp4"


def test_longvideobench_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.Table.from_pylist([LVB_RECORD]), tmp_path / "validation-00000-of-00001.parquet")
    items = load_benchmark("longvideobench", tmp_path / "validation-00000-of-00001.parquet")
    assert items[0].answer == "C"
    assert items[0].options == tuple(LVB_RECORD["candidates"])


@pytest.mark.parametrize(
    ("change", "message"),
    [({"correct_choice": 7}, "correct_choice"), ({"candidates": "abc"}, "candidates"), ({"id": None}, "id")],
)
def test_longvideobench_bad_records(tmp_path: Path, change: dict[str, object], message: str) -> None:
    record = {**LVB_RECORD, **change}
    if change.get("id", 0) is None:
        del record["id"]
    (tmp_path / "lvb_val.json").write_text(json.dumps([record]))
    with pytest.raises(InvalidArgumentError, match=message):
        read_longvideobench(tmp_path / "lvb_val.json")


def _mlvu(tmp_path: Path) -> Path:
    json_dir = tmp_path / "MLVU" / "json"
    json_dir.mkdir(parents=True)
    needle = [
        {
            "video": "needle_1.mp4",
            "duration": 467,
            "question": "What does the hand hold?",
            "candidates": ["a cup", "a pen", "a key", "a ball"],
            "answer": "a key",
            "question_type": "needle",
        },
        {
            "video": "needle_2.mp4",
            "duration": 2200.5,
            "question": "What colour is the car?",
            "candidates": ["red", "blue", "green", "white"],
            "answer": "red",
            "question_type": "needle",
        },
    ]
    plot = [
        {
            "video": "movie101_66.mp4",
            "duration": 246,
            "question": "Who wins?",
            "candidates": ["the cat", "the dog"],
            "answer": "the dog",
            "question_type": "plotQA",
        }
    ]
    summary = [
        {
            "video": "x.mp4",
            "duration": 600,
            "question": "Summarise the video.",
            "answer": "…",
            "question_type": "summary",
        }
    ]
    (json_dir / "2_needle.json").write_text(json.dumps(needle))
    (json_dir / "1_plotQA.json").write_text(json.dumps(plot))
    (json_dir / "9_summary.json").write_text(json.dumps(summary))
    return json_dir


def test_mlvu_folder_and_file(tmp_path: Path) -> None:
    json_dir = _mlvu(tmp_path)
    items = read_mlvu(json_dir)
    assert [i.id for i in items] == ["1_plotQA/0", "2_needle/0", "2_needle/1"]  # the summary task is skipped
    plot, needle, long = items
    assert plot.answer == "B"
    assert plot.category == "plotQA"
    assert plot.duration_bucket == "3-10min"
    assert needle.video == str(tmp_path / "MLVU" / "video" / "2_needle" / "needle_1.mp4")
    assert needle.answer == "C"
    assert needle.duration == 467.0
    assert long.duration_bucket == "30-60min"
    assert long.answer == "A"
    only = load_benchmark("mlvu", json_dir / "2_needle.json", video_root=tmp_path / "vids")
    assert [i.video for i in only] == [
        str(tmp_path / "vids" / "2_needle" / "needle_1.mp4"),
        str(tmp_path / "vids" / "2_needle" / "needle_2.mp4"),
    ]


def test_mlvu_answer_must_be_a_candidate(tmp_path: Path) -> None:
    json_dir = _mlvu(tmp_path)
    bad = [
        {
            "video": "v.mp4",
            "duration": 10,
            "question": "q",
            "candidates": ["a", "b"],
            "answer": "c",
            "question_type": "count",
        }
    ]
    (json_dir / "4_count.json").write_text(json.dumps(bad))
    with pytest.raises(InvalidArgumentError, match="not one of the candidates"):
        read_mlvu(json_dir)


VIDEOMME_RECORD = {
    "video_id": "001",
    "duration": "short",
    "domain": "Knowledge",
    "sub_category": "Humanity & History",
    "url": "https://www.youtube.com/watch?v=fFjv93ACGo8",
    "videoID": "fFjv93ACGo8",
    "question_id": "001-1",
    "task_type": "Counting Problem",
    "question": "When demonstrating the Germany modern Christmas tree is initially decorated with apples, "
    "candles and berries, which kind of the decoration has the largest number?",
    "options": ["A. Apples.", "B. Candles.", "C. Berries.", "D. The three kinds are of the same number."],
    "answer": "C",
}


def test_videomme_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    folder = tmp_path / "videomme"
    folder.mkdir()
    second = {**VIDEOMME_RECORD, "question_id": "300-3", "duration": "long", "videoID": "zzz", "answer": "A"}
    pq.write_table(pa.Table.from_pylist([VIDEOMME_RECORD, second]), folder / "test-00000-of-00001.parquet")
    items = read_videomme(folder / "test-00000-of-00001.parquet")
    first = items[0]
    assert first.id == "001-1"
    assert first.video == str(tmp_path / "data" / "fFjv93ACGo8.mp4")
    assert first.options == ("Apples.", "Candles.", "Berries.", "The three kinds are of the same number.")
    assert (first.answer, first.category, first.duration_bucket) == ("C", "Counting Problem", "short")
    assert first.meta == {"video_id": "001", "domain": "Knowledge", "sub_category": "Humanity & History"}
    assert items[1].duration_bucket == "long"
    assert items[1].answer == "A"


def test_videomme_json_export(tmp_path: Path) -> None:
    (tmp_path / "videomme.jsonl").write_text(json.dumps(VIDEOMME_RECORD) + "\n")
    items = load_benchmark("videomme", tmp_path / "videomme.jsonl", video_root=tmp_path / "v")
    assert items[0].video == str(tmp_path / "v" / "fFjv93ACGo8.mp4")
    assert items[0].answer == "C"


def test_own_jsonl_round_trip(tmp_path: Path) -> None:
    item = EvalItem(
        id="x/1",
        video=str(tmp_path / "v" / "a.mp4"),
        question="Which?",
        options=("red", "blue"),
        answer="B",
        category="needle",
        duration_bucket="short",
        duration=300.0,
        relevant_spans=((10.0, 14.0),),
        meta={"n": 1},
    )
    path = write_items([item], tmp_path / "items.jsonl")
    assert json.loads(path.read_text())["video"] == "v/a.mp4"  # relative to the file
    assert read_items(path) == [item]


def test_unknown_benchmark_and_duplicate_ids(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="unknown benchmark"):
        load_benchmark("nope", tmp_path / "x.json")
    (tmp_path / "lvb.json").write_text(json.dumps([LVB_RECORD, LVB_RECORD]))
    with pytest.raises(InvalidArgumentError, match="two items have the id"):
        read_longvideobench(tmp_path / "lvb.json")
    (tmp_path / "lvb.csv").write_text("x")
    with pytest.raises(InvalidArgumentError, match=r"expected a \.json"):
        read_longvideobench(tmp_path / "lvb.csv")
