"""The running system for the end-to-end benchmarks: the bench namespace, `tiaojie setup`, tokens, processes.

Each service runs in a process of its own (`tiaojie serve NAME`, as docker-compose runs
them), so the peak RSS of each can be read from /proc.
"""
import contextlib
import os
import subprocess
import sys
from pathlib import Path

from services.common.config import SERVICES, database_url
from services.common.db import drop_database
from tests.support import ServiceProcess

from .common import PG_SERVER, amqp_uri, fresh_vhost, namespace

ROOT = Path(__file__).resolve().parent.parent


def bench_env(**extra):
    env = dict(os.environ)
    env.update(DATABASE_URL=f"{PG_SERVER}/{namespace()}", AMQP_URI=amqp_uri(), PYTHONUNBUFFERED="1",
               TIAOJIE_LOG_LEVEL="WARNING")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def cli(env, *args, timeout=300):
    result = subprocess.run([sys.executable, "-m", "services.cli", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"tiaojie {' '.join(args)} failed: {result.stdout}\n{result.stderr}")
    return result.stdout


def setup_namespace(env):
    """Fresh service databases and vhost in the bench namespace, prepared by `tiaojie setup`."""
    for name in SERVICES:
        drop_database(database_url(name, env))
    fresh_vhost()
    cli(env, "setup")


def issue_token(env, *flags):
    return cli(env, "token", "issue", *flags).strip().splitlines()[-1]


def missing_services():
    from services import registry

    return [name for name in SERVICES if name not in registry.available_services()]


def peak_rss_mib(pid):
    """VmHWM of a process, in MiB (None if it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@contextlib.contextmanager
def running_services(env, names=SERVICES):
    """Each service in its own `tiaojie serve` process; yields {name: ServiceProcess}."""
    processes = {}
    try:
        for name in names:
            processes[name] = ServiceProcess(name, env=env, log_path=f"/tmp/{namespace()}-{name}.log").start(timeout=60)
        yield processes
    finally:
        for process in processes.values():
            process.stop()
