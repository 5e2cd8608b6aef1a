"""`python -m local`: the command line lives in local/cli.py.

Kept import-free at module level: worker processes are spawned, and a spawned child imports the parent's main
module, so anything imported here would slow every function container's cold start.
"""

if __name__ == "__main__":
    import sys

    from local.cli import main

    sys.exit(main())
