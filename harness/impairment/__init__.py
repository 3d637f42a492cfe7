"""Network impairment: profiles, engines that apply them (kernel netem or the userspace link
vpb-linkemu) and verification by measuring. The model itself is in ``harness.netem``.

What the runner calls:

    profiles = resolve_profiles(["all"], custom_profiles(plan_tables))
    engine = select_engine(testbed, "auto")            # ImpairmentEngine, a context manager
    with engine:
        engine.apply(testbed, profile, seed=run_seed)  # -> ImpairmentRecord
        verify_link(testbed, engine, profile)          # measured figures, added to the record
        ...benchmarks...
        record = engine.remove()
"""
