"""Evaluation: what a policy (and scorer) achieves on held-out problems, and how good a scorer is.

    methods.py      the method names of ``pipelines.evaluate`` (greedy, maj@k, orm@k, prm-min@k, sbs-3x5, mcts...)
                    and the searches they need
    select.py       answer selection over a searched or stored tree (majority, best-of-N by ORM/PRM, weighted
                    vote, beam top, best Q)
    stats.py        Wilson score intervals and a rank-based ROC AUC
    processbench.py ProcessBench's earliest-error metric and PRM800K step-level AUC
    report.py       the report folder: markdown table (AlphaMath's layout), accuracy-vs-N plot, JSON
"""
