"""The paper's experiment end to end, the top of regsim's stack.

- :mod:`.plan`: the method x reference runs; :mod:`.cache`: the content-addressed stage cache;
- :mod:`.pipeline`: every computation (``run_benchmark``, ``BenchmarkSettings``);
- :mod:`.paired`: paired per-sequence statistics between runs (every better/tied statement);
- :mod:`.report`: rendering only; :mod:`.paper_numbers`: the paper's published values;
  :mod:`.differences`: every known difference from the paper;
- :mod:`.commands`: ``regsim benchmark``.
"""
