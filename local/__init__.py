"""The embedded local stack: moto as the AWS emulator, the same ASL, the same handlers.

These modules are shared by the tests and ``make local``; nothing here ships to Lambda.
"""
