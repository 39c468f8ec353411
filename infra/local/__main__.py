"""``python -m infra.local``: run the embedded local stack until Ctrl-C (see ``ptm local --help``)."""

from infra.local.cli import main

if __name__ == "__main__":
    main()
