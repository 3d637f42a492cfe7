"""Analysis of vpn-bench results: tidy metrics, plotnine figures and an HTML report.

Input is either our own run records (``harness.records``) or the legacy result layout of
the earlier implementation; both are turned into the same observation tables first, so
every metric has exactly one definition.
"""
