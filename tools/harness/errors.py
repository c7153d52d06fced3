"""What the harness raises when this machine cannot run a server."""


class Unavailable(RuntimeError):
    """A server's binaries, or a user to run them as, are not on this machine (the callers skip or exit)."""
