"""Domain logic and data access shared by every Process Task Manager function.

Everything here is plain Python: the handlers in the sibling packages are thin adapters that
parse a Lambda event, call into this package and shape the response.
"""
