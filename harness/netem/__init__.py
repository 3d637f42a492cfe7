"""The pure netem vocabulary: impairment model, units, derived figures and their record.

No I/O and no imports from the rest of the harness: the record schema (`harness.records`)
builds on it, and the impairment engines (`harness.impairment`) apply it to a testbed.
"""
