"""``python -m analysis RESULTS_DIR [--out DIR] [--format auto|records|legacy]``."""

from analysis.cli import main

if __name__ == "__main__":
    main()
