"""Samplers register themselves: a sampler defined outside gens-tools is used by name everywhere, its options
come from its constructor, and registering is reversible."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import gens_tools
from gens_tools import FrameSampler, InvalidArgumentError, Window, WindowScores
from gens_tools.samplers import (
    SamplerOption,
    UniformSampler,
    _registry,
    make_sampler,
    register_sampler,
    registered_sampler,
    sampler_class,
    sampler_names,
    unregister_sampler,
)
from gens_tools.samplers._describe import REQUIRED
from tests.samplers.toy import ToySampler


@pytest.fixture
def toy() -> Iterator[type[ToySampler]]:
    with registered_sampler("toy", ToySampler):
        yield ToySampler


def test_built_in_samplers_are_found_without_a_list_of_them() -> None:
    assert {"uniform", "gens-3b", "gens", "similarity", "remote"} <= set(sampler_names())
    assert sampler_class("uniform") is UniformSampler
    assert gens_tools.register_sampler is register_sampler


def test_a_toy_registered_from_outside_is_made_by_name(toy: type[ToySampler]) -> None:
    assert "toy" in sampler_names()
    sampler = make_sampler("toy", toy_option=12.0, width=1, window_size=None)  # None: the default
    assert isinstance(sampler, ToySampler)
    assert (sampler.toy_option, sampler.width, sampler.window_size) == (12.0, 1, 16)
    with pytest.raises(InvalidArgumentError, match="does not take concurrency"):
        make_sampler("toy", toy_option=1.0, concurrency=2)
    with pytest.raises(InvalidArgumentError, match="width must be >= 0"):
        make_sampler("toy", width=-1)  # the sampler's own checks
    with pytest.raises(InvalidArgumentError, match="missing a required argument: 'base_url'"):
        make_sampler("remote", model="m")


def test_sample_frames_uses_the_toy_by_name(toy: type[ToySampler], video_40s: Path) -> None:
    from gens_tools import sample_frames

    selection = sample_frames(video_40s, "q", sampler="toy", k=3)
    assert selection.sampler == "toy"
    # by default the toy looks for 20 s (width 0): that frame scores 5 and is chosen, the rest is fill
    assert [w.n_frames for w in selection.windows] == [14, 13, 13]  # its window_size of 16
    scored = [(round(f.timestamp), f.score) for f in selection.frames if f.score]
    assert scored == [(20, 5.0)]
    assert len(selection.frames) == 3


def test_registration_is_reversible_and_checked() -> None:
    class Other(ToySampler):
        """Another toy."""

    with registered_sampler("toy", ToySampler):
        with pytest.raises(InvalidArgumentError, match="taken by"):
            register_sampler("toy", Other)
        with registered_sampler("toy", Other):  # replaced for a while…
            assert sampler_class("toy") is Other
        assert sampler_class("toy") is ToySampler  # …and restored
    assert "toy" not in sampler_names()
    with pytest.raises(InvalidArgumentError, match="unknown sampler 'toy'"):
        make_sampler("toy")
    with pytest.raises(InvalidArgumentError, match="taken by"):
        register_sampler("uniform", ToySampler)  # a built-in name
    with pytest.raises(InvalidArgumentError, match="lower-case"):
        register_sampler("Toy Sampler", ToySampler)
    with pytest.raises(InvalidArgumentError, match="FrameSampler subclass"):
        register_sampler("toy", dict)  # type: ignore[call-overload]
    unregister_sampler("never-registered")  # nothing to forget: no error


def test_the_decorator_form_names_the_class() -> None:
    try:

        @register_sampler("plain-toy")
        class PlainToy(FrameSampler):
            """Scores nothing."""

            def score_window(self, window: Window, question: str) -> WindowScores:
                return WindowScores(window.index, None)

        assert sampler_class("plain-toy") is PlainToy
        assert PlainToy.name == "plain-toy"  # took the registered name: selections report it
        assert isinstance(make_sampler("plain-toy"), PlainToy)
    finally:
        unregister_sampler("plain-toy")


def test_a_lazy_target_is_imported_when_first_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "lazy_toy_module.py").write_text("from tests.samplers.toy import ToySampler as LazyToy\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with registered_sampler("lazy-toy", "lazy_toy_module:LazyToy"):
        assert "lazy_toy_module" not in sys.modules
        assert sampler_class("lazy-toy") is ToySampler
    missing = r"no_such_module_anywhere.*gens-tools\[toys\]"
    with (
        registered_sampler("broken-toy", "no_such_module_anywhere:Toy", extra="toys"),
        pytest.raises(gens_tools.BackendUnavailableError, match=missing),
    ):
        make_sampler("broken-toy")


def test_an_entry_point_registers_a_sampler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A package that declares ``[project.entry-points."gens_tools.samplers"] ep-toy = "module:Class"``."""
    (tmp_path / "ep_toy_module.py").write_text("from tests.samplers.toy import ToySampler as EpToy\n")
    dist = tmp_path / "ep_toy-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-toy\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent(
            """\
            [gens_tools.samplers]
            ep-toy = ep_toy_module:EpToy
            uniform = ep_toy_module:EpToy
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(_registry, "_entries", dict(_registry._entries))  # discover again, then forget it
    monkeypatch.setattr(_registry, "_discovered", False)
    with pytest.warns(UserWarning, match="'uniform' of ep-toy is ignored"):
        names = sampler_names()
    assert "ep-toy" in names
    assert "ep_toy_module" not in sys.modules  # not imported until used
    assert sampler_class("uniform") is UniformSampler  # a built-in name cannot be taken over
    sampler = make_sampler("ep-toy", toy_option=3.0)
    assert isinstance(sampler, ToySampler)
    assert "entry point (ep-toy)" in [e.origin for e in _registry.sampler_entries() if e.name == "ep-toy"]


def test_options_are_read_from_the_constructor_and_its_docstring() -> None:
    options = {o.name: o for o in ToySampler.describe_options()}
    assert list(options) == ["toy_option", "width", "mode", "blank_first", "window_size", "api_key", "on_window"]
    toy_option = options["toy_option"]
    assert toy_option == SamplerOption(
        "toy_option", "the second of video this sampler looks for.", "float", 20.0, "float"
    )
    assert not toy_option.required
    assert sampler_class("remote").describe_options()[0].default is REQUIRED
    assert toy_option.flag == "--toy-option"
    assert toy_option.parse("2.5") == 2.5
    with pytest.raises(InvalidArgumentError, match="--toy-option expects a number, got 'soon'"):
        toy_option.parse("soon")
    assert (options["width"].kind, options["width"].default, options["width"].flag) == ("int", 0, "--width")
    assert options["mode"].choices == ("peak", "flat")
    assert options["mode"].kind is None
    assert options["mode"].parse("flat") == "flat"
    assert options["blank_first"].kind == "bool"
    assert options["blank_first"].parse("yes") is True
    assert options["api_key"].secret
    assert options["api_key"].flag is None  # secrets are never flags
    assert options["on_window"].kind is None
    assert options["on_window"].flag is None  # a callable cannot be typed on a command line
    assert options["on_window"].help == "called with each window's index (not a command-line option)."


@pytest.mark.parametrize("name", ["uniform", "gens-3b", "gens", "similarity", "remote"])
def test_every_built_in_option_is_documented(name: str) -> None:
    options = sampler_class(name).describe_options()
    assert options
    assert [o.name for o in options if not o.help] == []
    assert all(o.flag is not None for o in options if o.name in ("window_size", "model"))


def test_in_process_samplers_take_the_loading_options_once_from_their_base() -> None:
    for name in ("gens-3b", "gens", "similarity"):
        options = {o.name: o for o in sampler_class(name).describe_options()}
        assert {"model", "revision", "device", "dtype", "attn_implementation"} <= set(options)
        assert options["batch_size"].kind == "int"
    gens_3b = {o.name: o for o in sampler_class("gens-3b").describe_options()}
    assert gens_3b["batch_size"].choices == ("auto",)  # int | Literal["auto"]
    assert gens_3b["batch_size"].parse("auto") == "auto"
    assert gens_3b["batch_size"].parse("3") == 3
    assert gens_3b["prefix_cache"].flag is None  # PrefixCache | bool: API only
