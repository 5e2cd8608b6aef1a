"""`python -m bench`: the command line lives in bench/cli.py.

Kept import-free at module level: function containers are spawned, and a spawned child imports the parent's main
module, so anything imported here (matplotlib, the pipeline) would slow every cold start the benchmark measures.
"""

if __name__ == "__main__":
    import sys

    from bench.cli import main

    sys.exit(main())
