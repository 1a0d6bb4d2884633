"""``python -m shipyard.cli``: the same as the ``shipyard`` command."""

from shipyard.cli import main

if __name__ == "__main__":
    main()
