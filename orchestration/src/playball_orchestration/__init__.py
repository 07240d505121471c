"""The whole system on one machine: the stack, then the four service processes.

It drives the stack through :mod:`playball_stack`'s API and each service through its own
``playball`` command, as a separate process handed the effective addresses; it imports no
service, so the services stay deployable on their own.
"""
