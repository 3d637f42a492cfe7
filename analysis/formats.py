"""Input formats the analysis reads (a light module: the CLI imports it at startup)."""

FORMATS: tuple[str, ...] = ("auto", "records", "legacy")
