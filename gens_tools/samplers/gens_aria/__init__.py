"""GenS on Aria (``yaolily/GenS``, 25 B MoE) run in-process on transformers' native Aria.

- :mod:`._inputs` builds the official prompt and image inputs for a window;
- :mod:`._convert` maps the released "yi_vl" checkpoint onto native Aria (on the fly or saved once);
- :mod:`._sampler` is :class:`GenSAriaSampler`.
"""

from gens_tools.samplers.gens_aria._sampler import GenSAriaSampler

__all__ = ["GenSAriaSampler"]
