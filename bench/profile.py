"""Where the time goes: py-spy (sampling, idle included) or cProfile, summarised as a few lines.

`spy(command, ...)` runs a command under `py-spy record --idle` and returns its
collapsed stacks; `summarise(stacks)` turns them into the functions that hold the most
samples, by self time and by inclusive time, as markdown bullet lines.
"""

import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

_FRAME = re.compile(r"^(?P<name>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")


def py_spy():
    found = shutil.which("py-spy", path=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    return found


def spy_command(command, output, rate=200):
    """`command` wrapped in py-spy (or returned as is when py-spy is not installed)."""
    tool = py_spy()
    if tool is None:
        return list(command)
    return [tool, "record", "--idle", "--nonblocking", "-r", str(rate), "--format", "raw", "-o", output, "--", *command]


def read_stacks(path):
    """Collapsed stacks as `{(frame, ...): samples}`."""
    stacks = collections.Counter()
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                stack, _, count = line.rpartition(" ")
                stacks[tuple(_short(frame) for frame in stack.split(";"))] += int(count)
    except (OSError, ValueError):
        return {}
    return stacks


def _short(frame):
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match.group("file")
    for marker in ("site-packages/", "python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{match.group('name')} ({path})"


def summarise(stacks, top=8, ours=("services/", "bench/")):
    """Markdown lines: the busiest leaf functions, and the busiest of our own functions (inclusive)."""
    total = sum(stacks.values())
    if not total:
        return ["(no profile samples)"]
    leaves, inclusive = collections.Counter(), collections.Counter()
    for stack, count in stacks.items():
        leaves[stack[-1]] += count
        for frame in set(stack):
            if any(f"({m}" in frame for m in ours):
                inclusive[frame] += count
    lines = [f"- {total} samples; self time, top {top}:"]
    lines += [f"  - {100 * n / total:.1f}% {frame}" for frame, n in leaves.most_common(top)]
    lines.append(f"- inclusive time in our own code, top {top}:")
    lines += [f"  - {100 * n / total:.1f}% {frame}" for frame, n in inclusive.most_common(top)]
    return lines


def profile_call(fn, *args, top=8):
    """Runs `fn(*args)` under cProfile; returns (result, markdown lines of the top functions)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    result = profiler.runcall(fn, *args)
    with tempfile.NamedTemporaryFile(suffix=".prof") as f:
        profiler.dump_stats(f.name)
        stats = pstats.Stats(f.name)
    total = sum(v[2] for v in stats.stats.values()) or 1e-9
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:top]
    lines = [f"- cProfile, {total:.2f} s of self time; top {top} by self time:"]
    for (path, line, name), (_, calls, self_time, _, _) in rows:
        for marker in ("site-packages/", "python3.11/", "/work/main/"):
            if marker in path:
                path = path.split(marker, 1)[1]
        lines.append(f"  - {100 * self_time / total:.1f}% {name} ({path}:{line}), {calls} calls")
    return result, lines


def run_spied(command, env, cwd, timeout):
    """Runs `command` under py-spy; returns (CompletedProcess, summary lines)."""
    with tempfile.TemporaryDirectory() as tmp:
        output = os.path.join(tmp, "stacks.txt")
        result = subprocess.run(
            spy_command(command, output), env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
        )
        return result, summarise(read_stacks(output)) if py_spy() else ["(py-spy not installed)"]
