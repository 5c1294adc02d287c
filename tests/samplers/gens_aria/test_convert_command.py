"""``gens-tools convert SRC DST`` end to end on a tiny sharded yi_vl checkpoint, and its one-line errors."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from gens_tools.cli._convert import parse_size, register, run
from gens_tools.cli._main import main
from gens_tools.errors import InvalidArgumentError
from gens_tools.testing import tiny_aria


def test_convert_command_end_to_end(
    tmp_path: Path, yi_vl_dir: Path, aria_model: Any, tokenizer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from transformers import AriaForConditionalGeneration

    dst = tmp_path / "out" / "GenS-aria"
    assert main(["convert", str(yi_vl_dir), str(dst), "--shard-size", "120KB", "--progress"]) == 0
    out, err = capsys.readouterr()
    assert "wrote a native Aria checkpoint" in out
    assert "converting shards" in err  # the tqdm bar, forced on although stderr is not a terminal

    config = json.loads((dst / "config.json").read_text())
    assert config["model_type"] == "aria"
    index = json.loads((dst / "model.safetensors.index.json").read_text())
    shards = sorted({name for name in index["weight_map"].values()})
    assert len(shards) > 1
    assert sorted(p.name for p in dst.glob("*.safetensors")) == shards
    assert "model.language_model.layers.1.mlp.experts.gate_up_proj" in index["weight_map"]

    loaded = AriaForConditionalGeneration.from_pretrained(str(dst), dtype=torch.float32)
    ids = torch.tensor([[1, 20, 30, 40, 50]])
    with torch.no_grad():
        torch.testing.assert_close(loaded(input_ids=ids).logits, aria_model(input_ids=ids).logits)


def test_register_adds_the_subcommand(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="gens-tools")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["convert", "a", "b", "--shard-size", "2GiB", "--overwrite"])
    assert args.func is run
    assert args.shard_size == 2 * 1024**3
    assert args.overwrite


def _fails(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "error" in err
    assert "Traceback" not in err
    return err


def test_convert_command_errors(
    tmp_path: Path, yi_vl_dir: Path, tokenizer: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "is not a folder" in _fails(["convert", str(tmp_path / "missing"), str(tmp_path / "x"), "-q"], capsys)

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "file").write_text("x")
    assert "not empty" in _fails(["convert", str(yi_vl_dir), str(taken), "-q"], capsys)

    bad_cfg = tiny_aria.yi_vl_config(len(tokenizer), text__norm_topk_prob=False, text__first_k_dense_replace=2)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text(json.dumps(bad_cfg))
    err = _fails(["convert", str(bad), str(tmp_path / "y"), "-q"], capsys)
    assert "norm_topk_prob" in err
    assert "first_k_dense_replace" in err
    assert not (tmp_path / "y").exists()

    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text(json.dumps(tiny_aria.yi_vl_config(len(tokenizer))))
    assert "safetensors" in _fails(["convert", str(no_weights), str(tmp_path / "z"), "-q"], capsys)
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_parse_size() -> None:
    assert parse_size("5GB") == 5 * 10**9
    assert parse_size("500MiB") == 500 * 2**20
    assert parse_size("1024") == 1024
    for bad in ("", "five", "-1GB", "0"):
        with pytest.raises(InvalidArgumentError):
            parse_size(bad)
