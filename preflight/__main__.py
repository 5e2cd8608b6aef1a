"""`python -m preflight`: the command line lives in preflight/cli.py."""

if __name__ == "__main__":
    import sys

    from preflight.cli import main

    sys.exit(main())
