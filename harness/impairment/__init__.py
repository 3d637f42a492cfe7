"""Network impairment: profiles (the netem model), engines that apply them (kernel netem or
the userspace link vpb-linkemu), derived round-trip figures, and verification by measuring.

What the runner calls:

    profiles = resolve_profiles(["all"], custom_profiles(plan_tables))
    engine = select_engine(testbed, "auto")            # ImpairmentEngine, a context manager
    with engine:
        engine.apply(testbed, profile, seed=run_seed)  # -> ImpairmentRecord
        verify_link(testbed, engine, profile)          # measured figures, added to the record
        ...benchmarks...
        record = engine.remove()
"""
