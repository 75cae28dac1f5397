"""The Locust master's side of `siospec bench --locust-master`.

The master needs a user class to dispatch; the users themselves run in the
siospec workers (each a Socket.IO client of --host playing the echo
scenario), so this class never runs a task on the master. Start the master
with --master (and --host, the Socket.IO server to load); see README.md.
"""

from locust import User, task


class SocketIoEcho(User):
    """Echo round trips over Socket.IO, run by siospec workers."""

    @task
    def echo(self):
        raise RuntimeError(
            "SocketIoEcho runs in siospec workers (siospec bench --locust-master), not in Python"
        )
