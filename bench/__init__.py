"""`make bench`: what the system exists for, measured beside a naive baseline on the same local Connect and load.

Two loads (a quota that binds, a busy instance whose concurrent calls bind), each run for our function and for a
bare loop calling Connect as the public samples do; then our function's cold init and per-record cost against a
minimal Powertools handler. Writes bench/results.json and bench/results.png.
"""
