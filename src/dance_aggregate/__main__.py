"""``python -m dance_aggregate`` is the same as the ``dance-aggregate`` command."""

from dance_aggregate.cli import main

if __name__ == "__main__":  # pragma: no cover
    main()
