"""`python -m pytorch2lean`: the command line. Guarded, because worker processes (a split tree's
leaf checks) import the main module again when they start."""

from .cli import main

if __name__ == "__main__":
    main()
