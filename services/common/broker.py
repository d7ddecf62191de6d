"""The local broker's administration through `rabbitmqctl`: vhosts, and whether its file
handles can hold the quorum queues tiaojie declares.

A quorum queue holds about three file handles on its node. A broker whose handles are all
reserved does not refuse a new queue: the declaration (and `rabbitmqctl start_app`) waits
for a handle, and the client times out with nothing that says why. `tiaojie setup`,
`tiaojie status` and `make run` therefore ask the broker first (`file_handle_problem`).
"""

import re
import shutil
import subprocess
from urllib.parse import unquote, urlsplit

HANDLES_PER_QUORUM_QUEUE = 3
# Handles kept free for connections, the message store and the broker's own files.
SPARE_HANDLES = 200

RAISE_THE_LIMIT = (
    "Raise the broker's file-handle limit, as RabbitMQ's documentation advises: start it"
    " with a higher `ulimit -n` (e.g. `ulimit -n 65536` before `rabbitmq-server`; as root,"
    " through setpriv rather than su, whose pam_limits resets it to 1024: see .ci/run),"
    " or set `LimitNOFILE=65536` in its systemd unit (docker-compose.yml already sets"
    " `nofile`). Or delete the vhosts nothing uses any more (`rabbitmqctl list_vhosts`)."
)


def vhost_of(uri):
    path = urlsplit(uri).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def is_local(uri):
    """Whether the broker of `uri` runs on this machine, where `rabbitmqctl` can reach it."""
    local = (urlsplit(uri).hostname or "localhost") in ("localhost", "127.0.0.1", "::1")
    return local and shutil.which("rabbitmqctl") is not None


def rabbitmqctl(*args, check=False, stdin=None, timeout=120):
    return subprocess.run(
        ["rabbitmqctl", "-q", *args], input=stdin, check=check, capture_output=True, text=True, timeout=timeout
    )


def vhosts():
    result = rabbitmqctl("list_vhosts", "--no-table-headers", "name", check=True)
    return [line for line in result.stdout.splitlines() if line]


def users():
    result = rabbitmqctl("list_users", "--no-table-headers", check=True)
    return [line.split("\t", 1)[0] for line in result.stdout.splitlines() if line]


def queue_names(vhost):
    result = rabbitmqctl("list_queues", "-p", vhost, "--no-table-headers", "name", check=True)
    return {line for line in result.stdout.splitlines() if line}


def file_handles():
    """`(limit, used)` of the local broker's file handles, or None when it cannot tell."""
    try:
        result = rabbitmqctl("eval", "file_handle_cache:info([total_limit, total_used]).", timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = dict(re.findall(r"\{(\w+),(\d+)\}", result.stdout))  # [{total_limit,19903},{total_used,629}]
    if result.returncode != 0 or not {"total_limit", "total_used"} <= found.keys():
        return None
    return int(found["total_limit"]), int(found["total_used"])


def file_handle_problem(uri, queues):
    """What stops the broker of `uri` from holding `queues` (the quorum queues tiaojie
    declares in its vhost), with the fix; None when they fit or the broker is not local."""
    if not is_local(uri):
        return None
    handles = file_handles()
    if handles is None:
        return None
    limit, used = handles
    try:
        new = len(set(queues) - queue_names(vhost_of(uri)))
    except (OSError, subprocess.SubprocessError):
        new = len(set(queues))
    needed = used + new * HANDLES_PER_QUORUM_QUEUE + SPARE_HANDLES
    if needed <= limit:
        return None
    return (
        f"RabbitMQ's file handles are nearly all reserved: limit {limit}, {used} in use, and the"
        f" {new} quorum queues still to declare in vhost {vhost_of(uri)!r} need about"
        f" {new * HANDLES_PER_QUORUM_QUEUE} more (and {SPARE_HANDLES} spare). The broker would wait"
        f" for handles and the services would never get ready. {RAISE_THE_LIMIT}"
    )
