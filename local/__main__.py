"""``python -m local``: run the embedded local stack until Ctrl-C (see ``ptm local --help``)."""

from local.cli import main

if __name__ == "__main__":
    main()
