"""What the in-process samplers share: device and dtype choice, finding weights, the prefix cache, the base
class. Nothing here imports torch or transformers at import time."""
