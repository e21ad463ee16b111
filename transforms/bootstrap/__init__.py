"""Round-0 bootstrap data: turning human solutions into the step formats the searches use.

    gsm8k_code.py  GSM8K calculator-annotated solutions -> rStar code steps (pure, deterministic)
    gsm8k_text.py  GSM8K solutions -> prose steps of the text format (pure, deterministic)
    __main__.py    ``python -m transforms.bootstrap``: the SFT-ready jsonl (code traces run in the sandbox)
"""

from transforms.bootstrap.gsm8k_code import CodeTrace, ConversionError, gsm8k_to_code_steps, render_trace
from transforms.bootstrap.gsm8k_text import TextTrace, gsm8k_to_text_steps

FORMATS = ("rstar", "text")  # the step formats GSM8K solutions convert into (``--step-format``)

__all__ = ["FORMATS", "CodeTrace", "ConversionError", "TextTrace", "gsm8k_to_code_steps", "gsm8k_to_text_steps", "render_trace"]
