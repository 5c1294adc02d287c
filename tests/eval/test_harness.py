"""The evaluation harness end to end, offline: the synthetic needle benchmark, the real OpenAI assistant
against the fake OpenAI server (which answers from what the frames show), uniform and replayed samplers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PIL import Image

from gens_tools.assistants import make_assistant
from gens_tools.batch import Spec, read_records
from gens_tools.errors import BackendUnavailableError
from gens_tools.eval import EvalItem, markdown_table, read_items, run_eval, sampler_query, summarize, write_summary
from gens_tools.samplers import FrameSampler, Window, WindowScores
from gens_tools.samplers.precomputed import PrecomputedSampler
from gens_tools.testing import FakeOpenAI


def oracle_rag(items: list[EvalItem], path: Path) -> Path:
    """A rag file that scores exactly the annotated spans (what a perfect sampler would say)."""
    with path.open("w") as f:
        for item in items:
            seconds = [s for a, b in item.relevant_spans for s in range(int(a), int(b))]
            f.write(
                json.dumps(
                    {
                        "video_path": item.video,
                        "rag_images": [f"f/{s:05d}.jpg" for s in seconds],
                        "rag_sim": [5] * len(seconds),
                        "fps": 1,
                        "question": sampler_query(item, "question+options"),
                    }
                )
                + "\n"
            )
    return path


def test_grid_scores_what_the_assistant_saw(needles: Path, fake_gpt: FakeOpenAI, tmp_path: Path) -> None:
    items = read_items(needles)
    gpt = make_assistant("gpt-4o", base_url=fake_gpt.base_url, api_key=fake_gpt.api_key)
    oracle = PrecomputedSampler(oracle_rag(items, tmp_path / "oracle.jsonl"))
    records = run_eval(
        items,
        samplers={"uniform": "uniform", "oracle": oracle},
        assistants=[gpt],
        ks=[4, 16],
        results=tmp_path / "results.jsonl",
    )
    assert len(records) == 6 * 2 * 2
    assert fake_gpt.violations == []
    assert len(fake_gpt.requests) == 24  # one request per record
    by = {(r["item"], r["sampler"], r["k"]): r for r in records}
    for r in records:
        assert r["error"] is None
        assert r["assistant"] == "gpt-4o"
        assert len(r["frames"]) == r["k"] == r["frames_sent"]
        if r["sampler"] == "oracle":
            assert r["frame_recall"] == 1.0
            assert r["correct"] is True
        elif r["frame_recall"] == 1.0:
            assert r["correct"] is True  # saw every needle the question is about: answered right
        elif r["category"] == "needle":
            assert r["predicted"] == "A"
            assert r["correct"] == (r["answer"] == "A")
    assert sum(r["input_tokens"] for r in records) == sum(req.prompt_tokens for req in fake_gpt.requests)
    # Uniform frames of an 11-minute video rarely land in a 4-second needle.
    summary = {(c["sampler"], c["k"]): c for c in summarize(records)["cells"]}
    assert summary[("oracle", 4)]["accuracy"] == 1.0
    assert summary[("oracle", 16)]["frame_recall"] == 1.0
    assert summary[("uniform", 4)]["frame_recall"] < 0.5
    assert summary[("uniform", 4)]["by_category"]["order"]["n"] == 2
    assert by[(items[0].id, "oracle", 4)]["frames"][0] >= items[0].relevant_spans[0][0]


def test_interrupted_run_resumes_where_it_stopped(needles: Path, fake_gpt: FakeOpenAI, tmp_path: Path) -> None:
    items = read_items(needles)
    gpt = make_assistant("gpt-4o", base_url=fake_gpt.base_url, api_key=fake_gpt.api_key)
    results = tmp_path / "results.jsonl"

    def stop_after_five(done: int, total: int) -> None:
        if done == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_eval(items, samplers=["uniform"], assistants=[gpt], ks=[2, 4], results=results, progress=stop_after_five)
    assert len(results.read_text().splitlines()) == 5
    with results.open("a") as f:
        f.write('{"item": "half a li')  # a write cut short by the interruption
    before = len(fake_gpt.requests)
    seen: list[tuple[int, int]] = []
    records = run_eval(
        items,
        samplers=["uniform"],
        assistants=[gpt],
        ks=[2, 4],
        results=results,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert len(fake_gpt.requests) - before == 12 - 5  # only the rest was asked
    assert len(records) == 12
    assert len({(r["item"], r["k"]) for r in records}) == 12
    assert seen[-1] == (12, 12)
    assert all(json.loads(line) for line in results.read_text().splitlines())  # the cut line is gone
    assert run_eval(items, samplers=["uniform"], assistants=[gpt], ks=[2, 4], results=results) == records
    assert len(fake_gpt.requests) - before == 7  # a finished grid asks nothing


class CountingSampler(FrameSampler):
    """Scores every third frame 5 and counts the windows it was asked to score."""

    name = "counting"
    needs_images = False

    def __init__(self) -> None:
        self.window_size = 64
        self.calls = 0

    def score_window(self, window: Window, question: str) -> WindowScores:
        self.calls += 1
        return WindowScores(
            window.index, [5.0 if f.index is not None and f.index % 3 == 0 else 0.0 for f in window.frames]
        )


def test_window_scores_are_computed_once_per_item(needles: Path, tmp_path: Path) -> None:
    items = read_items(needles)[:2]  # both about the 240 s video: 240 frames at 1 fps, 4 windows of 64
    sampler = CountingSampler()
    records = run_eval(items, samplers=[sampler], ks=[2, 8, 32], results=tmp_path / "r.jsonl")
    assert sampler.calls == 2 * 4  # not once per K
    assert {r["assistant"] for r in records} == {"none"}
    assert all("response" not in r for r in records)
    assert all(s == 5.0 for r in records for s in r["scores"])


def test_rag_files_replay_the_same_frames(needles: Path, tmp_path: Path) -> None:
    items = read_items(needles)
    first = run_eval(items, samplers=["uniform"], ks=[3, 5], results=tmp_path / "a.jsonl", rag_dir=tmp_path / "rag")
    assert sorted(p.name for p in (tmp_path / "rag").iterdir()) == ["uniform-k3.jsonl", "uniform-k5.jsonl"]
    for k in (3, 5):
        replay = PrecomputedSampler(tmp_path / "rag" / f"uniform-k{k}.jsonl")
        again = run_eval(items, samplers={"replay": replay}, ks=[k], results=tmp_path / f"b{k}.jsonl")
        assert [r["frames"] for r in again] == [r["frames"] for r in first if r["k"] == k]


def test_failures_are_recorded_and_counted_wrong(needles: Path, fake_gpt: FakeOpenAI, tmp_path: Path) -> None:
    items = read_items(needles)[:2]
    missing = EvalItem(id="gone", video=str(tmp_path / "missing.mp4"), question="q?", options=("a", "b"), answer="A")
    gpt = make_assistant("gpt-4o", base_url=fake_gpt.base_url, api_key=fake_gpt.api_key, max_retries=0)
    fake_gpt.push("500")  # the first answer fails at the provider
    records = run_eval([*items, missing], samplers=["uniform"], assistants=[gpt], ks=[4], results=tmp_path / "r.jsonl")
    errors = {r["item"]: r["error"] for r in records if r["error"]}
    assert errors[items[0].id].startswith("ProviderUnavailableError")
    assert errors["gone"].startswith("VideoNotFoundError")
    cell = summarize(records)["cells"][0]
    assert (cell["questions"], cell["errors"], cell["n"]) == (3, 2, 3)
    assert cell["correct"] <= 1
    assert cell["accuracy"] == cell["correct"] / 3
    # --retry-errors runs the failed cells again (the video is still missing; the provider is back).
    again = run_eval(
        [*items, missing],
        samplers=["uniform"],
        assistants=[gpt],
        ks=[4],
        results=tmp_path / "r.jsonl",
        retry_errors=True,
    )
    assert [r["item"] for r in again if r["error"]] == ["gone"]


def test_summary_files_and_plot(needles: Path, tmp_path: Path) -> None:
    items = read_items(needles)
    records = run_eval(items, samplers=["uniform"], ks=[2, 8], results=tmp_path / "r.jsonl")
    paths = write_summary(records, tmp_path / "out")
    summary = json.loads(paths["json"].read_text())
    assert [(c["sampler"], c["k"], c["questions"]) for c in summary["cells"]] == [("uniform", 2, 6), ("uniform", 8, 6)]
    table = paths["markdown"].read_text()
    assert "| uniform | none | 8 | 6 |" in table
    assert "frame recall %" in table
    assert table == markdown_table(summary)
    with Image.open(paths["plot"]) as image:
        assert image.format == "PNG"
        assert image.width > 300


def test_plot_without_matplotlib_says_which_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(BackendUnavailableError, match=r"gens-tools\[report\]"):
        write_summary([{"sampler": "u", "assistant": "none", "k": 1}], tmp_path)
    assert (tmp_path / "summary.md").is_file()


def test_labels_never_hold_api_keys(fake_gpt: FakeOpenAI, needles: Path, tmp_path: Path) -> None:
    spec = f"gpt-4o:base_url={fake_gpt.base_url},api_key={fake_gpt.api_key}"
    assert fake_gpt.api_key not in Spec.parse(spec).label
    records = run_eval(
        read_items(needles)[:1], samplers=["uniform"], assistants=[spec], ks=[2], results=tmp_path / "r.jsonl"
    )
    assert records[0]["error"] is None
    assert fake_gpt.api_key not in (tmp_path / "r.jsonl").read_text()
    assert list(read_records(tmp_path / "r.jsonl")) == records
