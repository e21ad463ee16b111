"""Round-0 bootstrap data: turning human solutions into the step formats the searches use.

    gsm8k_code.py  GSM8K calculator-annotated solutions -> rStar code steps (pure, deterministic)
    __main__.py    ``python -m transforms.bootstrap``: the SFT-ready jsonl, every trace run in the sandbox
"""

from transforms.bootstrap.gsm8k_code import CodeTrace, ConversionError, gsm8k_to_code_steps, render_trace

__all__ = ["CodeTrace", "ConversionError", "gsm8k_to_code_steps", "render_trace"]
