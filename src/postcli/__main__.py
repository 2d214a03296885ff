"""`python -m postcli` runs the command line."""

from postcli.cli import main

if __name__ == "__main__":
    main()
