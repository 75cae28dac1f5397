"""The Locust master's side of `siospec bench --locust-master`.

The master needs user classes to dispatch; the users themselves run in the
siospec workers (Socket.IO clients of --host), each class a scenario of the
native generator, so no task here ever runs on the master. Name the classes
to run after the file (`locust -f locustfile.py SocketIoEcho ...`), or let
the master spread users over all three by weight; see README.md.
"""

from locust import User, task


class _RunsInSiospec(User):
    abstract = True

    @task
    def never_here(self):
        raise RuntimeError(
            f"{type(self).__name__} runs in siospec workers (siospec bench --locust-master), not in Python"
        )


class SocketIoEcho(_RunsInSiospec):
    """Echo round trips (`message-with-ack`), one at a time: `echo` requests."""


class SocketIoConnect(_RunsInSiospec):
    """Connections opened and closed one after the other: `connect` requests."""


class SocketIoIdle(_RunsInSiospec):
    """One connection held with only the heartbeat: one `connect` request."""
