#!/usr/bin/env python3
"""Execute a Jupyter notebook headlessly without losing late outputs.

The Deno kernel often publishes a cell's outputs (results, Deno.jupyter.display, stdout) AFTER it
reports the cell idle. Stock nbclient / `jupyter nbconvert --execute` stop reading at idle and drop
them. This runner routes every IOPub message to the cell whose execute request is its parent, and
after a cell's execute_reply and idle status it keeps draining until `--quiet` seconds pass with no
message at all (the final drain after the last cell waits at least 0.5 s). Measured here: late
outputs arrive 1-2 ms after idle. The Deno kernel stamps every output with the execute request that
is running when it publishes it, so an output that comes after the next cell has started (a
background timer, say) belongs to that next cell, as in the Jupyter front-end; the quiet window is
what keeps a cell's own late outputs with it. The summary counts the outputs that came after idle.

The saved notebook is deterministic: execution counts are renumbered 1, 2, ... over the executed
code cells, no timing metadata is written, ANSI escape codes are stripped from text outputs,
consecutive stream outputs of the same name are merged, and outputs keep their arrival order. The
JSON layout is Jupyter's (indent 1, sorted keys, multi-line strings split into lines).

Usage: run_notebook.py NOTEBOOK [--output PATH] [--cwd DIR] [--allow-errors] [--timeout S]
                       [--quiet S] [--kernel NAME] [--summary PATH] [--progress S]
Exit status: 0 on success, 1 when a cell failed (or the kernel died, or a cell timed out), 2 on
bad usage. Without --allow-errors the first failing cell stops the run and the notebook is NOT
written; with it every cell runs, the notebook (errors included) is written and the exit status is
0. Needs only jupyter_client (Debian: jupyter-client).
"""

import argparse
import json
import os
import queue
import re
import signal
import sys
import tempfile
import time

# CSI sequences (colours, cursor moves), OSC sequences (titles, links) and two-byte escapes.
ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
OUTPUT_MSG_TYPES = {"stream", "display_data", "execute_result", "error", "clear_output",
                    "update_display_data"}


def strip_ansi(text):
    """Remove ANSI escape sequences from a string."""
    return ANSI_RE.sub("", text)


def join_text(value):
    """Join a notebook multi-line string (a string or a list of lines)."""
    return "".join(value) if isinstance(value, list) else value


def split_text(value):
    """Split a string into lines the way Jupyter stores multi-line strings."""
    return value.splitlines(True) if isinstance(value, str) else value


def clean_data(data):
    """Copy a MIME bundle, stripping ANSI codes from its text/* values."""
    out = {}
    for key, value in data.items():
        if isinstance(value, str) and key.startswith("text/"):
            value = strip_ansi(value)
        out[key] = value
    return out


class CellState:
    """Outputs collected for one code cell."""

    def __init__(self, index, execution_count):
        self.index = index
        self.execution_count = execution_count
        self.outputs = []
        self.clear_pending = False
        self.idle = False
        self.idle_at = None
        self.reply = None

    def add(self, output):
        if self.clear_pending:
            self.outputs = []
            self.clear_pending = False
        last = self.outputs[-1] if self.outputs else None
        if (output["output_type"] == "stream" and last is not None
                and last["output_type"] == "stream" and last["name"] == output["name"]):
            last["text"] += output["text"]
        else:
            self.outputs.append(output)

    def handle(self, msg, display_index):
        """Apply one IOPub output message to this cell."""
        kind = msg["msg_type"]
        content = msg["content"]
        if kind == "stream":
            self.add({"output_type": "stream", "name": content.get("name", "stdout"),
                      "text": strip_ansi(content.get("text", ""))})
        elif kind in ("display_data", "execute_result"):
            output = {"output_type": kind, "data": clean_data(content.get("data", {})),
                      "metadata": content.get("metadata", {})}
            if kind == "execute_result":
                output["execution_count"] = self.execution_count
            self.add(output)
            display_id = (content.get("transient") or {}).get("display_id")
            if display_id:
                display_index.setdefault(display_id, []).append(output)
        elif kind == "update_display_data":
            display_id = (content.get("transient") or {}).get("display_id")
            for output in display_index.get(display_id, []):
                output["data"] = clean_data(content.get("data", {}))
                output["metadata"] = content.get("metadata", {})
        elif kind == "error":
            self.add({"output_type": "error", "ename": strip_ansi(content.get("ename", "")),
                      "evalue": strip_ansi(content.get("evalue", "")),
                      "traceback": [strip_ansi(line) for line in content.get("traceback", [])]})
        elif kind == "clear_output":
            if content.get("wait"):
                self.clear_pending = True
            else:
                self.outputs = []
                self.clear_pending = False


def to_disk(output):
    """Convert an output to its on-disk form (multi-line strings split into lines)."""
    output = dict(output)
    if output["output_type"] == "stream":
        output["text"] = split_text(output["text"])
    elif output["output_type"] in ("display_data", "execute_result"):
        data = {}
        for key, value in output["data"].items():
            if key != "application/json" and not key.endswith("+json") and isinstance(value, str):
                value = split_text(value)
            data[key] = value
        output["data"] = data
    return output


def first_line(source):
    for line in join_text(source).splitlines():
        if line.strip():
            return line.strip()[:80]
    return ""


def log(message):
    print(message, file=sys.stderr, flush=True)


class Runner:
    """Runs the code cells of one notebook on one kernel."""

    def __init__(self, args):
        self.args = args
        self.by_msg_id = {}
        self.display_index = {}
        self.km = None
        self.kc = None
        self.kernel_log = None
        self.late = {"outputs": 0, "maxDelaySeconds": 0.0}

    def start(self, cwd):
        from jupyter_client.manager import KernelManager

        self.kernel_log = tempfile.TemporaryFile(mode="w+")
        try:
            self.km = KernelManager(kernel_name=self.args.kernel)
            self.km.start_kernel(cwd=cwd, stdout=self.kernel_log, stderr=self.kernel_log)
        except Exception as error:  # noqa: BLE001 - NoSuchKernel, deno missing from PATH, ...
            raise RuntimeError(f"cannot start kernel {self.args.kernel!r}: "
                               f"{type(error).__name__}: {error}") from None
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            self.kc.wait_for_ready(timeout=self.args.startup_timeout)
        except RuntimeError as error:
            raise RuntimeError(f"kernel {self.args.kernel!r} did not start: {error}\n"
                               + self.kernel_output()) from None

    def kernel_output(self):
        if self.kernel_log is None:
            return ""
        self.kernel_log.seek(0)
        return self.kernel_log.read()[-4000:]

    def stop(self):
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            try:
                self.km.shutdown_kernel(now=False)
            except Exception:  # noqa: BLE001 - best effort
                self.km.shutdown_kernel(now=True)

    def pump_iopub(self, timeout):
        """Route one IOPub message (waiting up to `timeout` s); True when one arrived."""
        try:
            msg = self.kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            return False
        parent = (msg.get("parent_header") or {}).get("msg_id")
        cell = self.by_msg_id.get(parent)
        if cell is None:
            return True
        kind = msg["msg_type"]
        if kind == "status" and msg["content"].get("execution_state") == "idle":
            cell.idle = True
            cell.idle_at = time.monotonic()
        elif kind in OUTPUT_MSG_TYPES:
            if cell.idle:  # published after the kernel reported the cell idle
                self.late["outputs"] += 1
                delay = time.monotonic() - cell.idle_at
                self.late["maxDelaySeconds"] = max(self.late["maxDelaySeconds"], round(delay, 3))
            cell.handle(msg, self.display_index)
        return True

    def pump_shell(self):
        while True:
            try:
                msg = self.kc.get_shell_msg(timeout=0)
            except queue.Empty:
                return
            cell = self.by_msg_id.get((msg.get("parent_header") or {}).get("msg_id"))
            if cell is not None and msg["msg_type"] == "execute_reply":
                cell.reply = msg["content"]

    def execute(self, cell, source, label):
        """Execute one cell; return once it is idle, replied and IOPub has been quiet."""
        msg_id = self.kc.execute(source, store_history=True, allow_stdin=False,
                                 stop_on_error=False)
        self.by_msg_id[msg_id] = cell
        start = last = time.monotonic()
        next_note = start + self.args.progress if self.args.progress > 0 else float("inf")
        while True:
            if self.pump_iopub(0.02):
                last = time.monotonic()
                continue
            self.pump_shell()
            now = time.monotonic()
            if cell.idle and cell.reply is not None and now - last >= self.args.quiet:
                return
            if self.args.timeout > 0 and now - start > self.args.timeout:
                self.km.interrupt_kernel()
                raise TimeoutError(f"{label} timed out after {self.args.timeout:g} s")
            if now >= next_note:
                log(f"  {label} still running ({now - start:.0f} s)")
                next_note += self.args.progress
            if not self.km.is_alive():
                raise RuntimeError(f"the kernel died while running {label}\n"
                                   + self.kernel_output())

    def drain(self, seconds):
        """Route messages until `seconds` pass with none arriving."""
        while self.pump_iopub(seconds):
            pass


def run(args):
    with open(args.notebook, encoding="utf-8") as handle:
        nb = json.load(handle)
    if nb.get("nbformat") != 4:
        log(f"{args.notebook}: nbformat {nb.get('nbformat')!r} is not supported; expected 4")
        return 2
    cwd = args.cwd or os.path.dirname(os.path.abspath(args.notebook))
    cells = nb.get("cells", [])
    code_indices = [i for i, c in enumerate(cells) if c.get("cell_type") == "code"]
    summary = {"notebook": args.notebook, "cells": len(code_indices), "executed": 0,
               "errors": [], "failure": None, "written": False}
    states = {}
    runner = Runner(args)
    try:
        runner.start(cwd)
        count = 0
        for position, index in enumerate(code_indices, start=1):
            cell = cells[index]
            source = join_text(cell.get("source", ""))
            label = f"cell {position}/{len(code_indices)} (#{index})"
            if not source.strip():
                states[index] = CellState(index, None)
                continue
            count += 1
            state = CellState(index, count)
            states[index] = state
            runner.execute(state, source, label)
            summary["executed"] += 1
            reply = state.reply or {}
            if reply.get("status") == "error" or any(
                    o["output_type"] == "error" for o in state.outputs):
                error = {"index": index, "position": position, "executionCount": count,
                         "firstLine": first_line(source), "source": source,
                         "ename": reply.get("ename", ""), "evalue": reply.get("evalue", ""),
                         "traceback": [strip_ansi(t) for t in reply.get("traceback", [])]}
                summary["errors"].append(error)
                log(f"{args.notebook}: {label} failed: {error['ename']}: {error['evalue']}")
                log("  cell source (first line): " + error["firstLine"])
                for line in error["traceback"]:
                    log("  | " + line)
                if not args.allow_errors:
                    break
        runner.drain(max(args.quiet, 0.5))
    except (RuntimeError, TimeoutError) as error:
        summary["failure"] = str(error)
        log(f"{args.notebook}: {error}")
    finally:
        runner.stop()

    failed = summary["failure"] is not None or (summary["errors"] and not args.allow_errors)
    if not failed:
        for index in code_indices:
            cell = cells[index]
            state = states.get(index)
            cell["execution_count"] = state.execution_count if state else None
            cell["outputs"] = [to_disk(o) for o in state.outputs] if state else []
            metadata = cell.get("metadata", {})
            metadata.pop("execution", None)
            cell["metadata"] = metadata
        nb.setdefault("metadata", {})["kernelspec"] = nb["metadata"].get("kernelspec") or {
            "display_name": "Deno", "language": "typescript", "name": args.kernel}
        output = args.output or args.notebook
        text = json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
        tmp = output + ".tmp-run"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, output)
        summary["written"] = True
    summary["late"] = runner.late
    if args.summary:
        with open(args.summary, "w", encoding="utf-8") as handle:
            json.dump(summary, handle, indent=1)
    return 1 if failed else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebook")
    parser.add_argument("--output", help="write here instead of in place")
    parser.add_argument("--cwd", help="kernel working folder (default: the notebook's folder)")
    parser.add_argument("--allow-errors", action="store_true",
                        help="run every cell even after a failure; write the notebook; exit 0")
    parser.add_argument("--timeout", type=float, default=0, help="per-cell limit in s (0: none)")
    parser.add_argument("--quiet", type=float, default=0.2,
                        help="s of IOPub silence after idle before the next cell (default 0.2)")
    parser.add_argument("--startup-timeout", type=float, default=60)
    parser.add_argument("--kernel", default="deno", help="kernelspec name (default deno)")
    parser.add_argument("--summary", help="write a JSON summary of the run here")
    parser.add_argument("--progress", type=float, default=30,
                        help="note a long-running cell every this many s (0: never)")
    args = parser.parse_args(argv)
    repo_jupyter = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "jupyter"))
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if repo_jupyter not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([repo_jupyter] + paths)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
