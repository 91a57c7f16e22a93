"""Executes one notebook headless on its kernel, cell by cell, for `npm run workbook`.

Prints each cell's time as it finishes and, while a cell runs, its latest progress line (at most every few
seconds, and every epoch's summary line as it comes), so a long training cell is never silent. When a cell
fails it prints the cell's source and its real error text: with tslab, nbclient's own message is empty and
the error is in the cell's stderr output. Whatever happens, it writes the executed notebook (signed, so its
Plotly output renders when opened, with execution counts, and with its relative imports rewritten so that
the copy runs from the output folder too) and an HTML export of it. Exit status: 0 when every cell ran, 1
when a cell failed, 2 on a setup error.

Usage: python3 run_notebook.py NOTEBOOK OUT_DIR [--interrupt-at PATTERN] [--cells LIST --save-as NAME]

--interrupt-at PATTERN interrupts the kernel (as the Notebook's interrupt button does) the first time a
cell's output matches the regular expression PATTERN, then goes on with the next cells: it rehearses an
interrupted training cell.
--cells LIST runs only these code cells (numbered from 1 as this runner prints them, e.g. 1,10,12-15), in
order, in a fresh kernel, as a user does after a restart; the others keep no output. The executed copy is
written as NAME.ipynb (and NAME.html), not over the notebook's full run.
"""
import os
import re
import signal
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError
from nbconvert import HTMLExporter
from nbformat.sign import NotebookNotary

PROGRESS_EVERY_S = 5.0
EPOCH_LINE = re.compile(r"^epoch \d+/\d+ .*val_loss")
RELATIVE_IMPORT = re.compile(r"""(from\s+|require\()(["'])(\.\.?/[^"']+)\2""")


def say(line=""):
    print(line, flush=True)


def output_text(msg):
    """The text a kernel message adds to the cell's output, if any."""
    content = msg.get("content", {})
    kind = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
    if kind == "stream":
        return content.get("text", "")
    if kind in ("display_data", "update_display_data", "execute_result"):
        return content.get("data", {}).get("text/plain", "")
    return ""


class StreamingClient(NotebookClient):
    """A NotebookClient that echoes a running cell's progress and can interrupt the kernel on cue."""

    def __init__(self, *args, interrupt_at=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.interrupt_at = re.compile(interrupt_at) if interrupt_at else None
        self.interrupted = False
        self.latest = ""
        self.last_echo = 0.0

    def process_message(self, msg, cell, cell_index):
        out = super().process_message(msg, cell, cell_index)
        text = output_text(msg)
        lines = [line.strip() for line in text.replace("\r", "\n").splitlines() if line.strip()]
        now = time.time()
        for line in lines:
            if EPOCH_LINE.match(line):
                say(f"    | {line}")
                self.last_echo = now
            self.latest = line
        if lines and now - self.last_echo >= PROGRESS_EVERY_S and not EPOCH_LINE.match(self.latest):
            say(f"    | {self.latest}")
            self.last_echo = now
        if self.interrupt_at and not self.interrupted and self.interrupt_at.search(text):
            self.interrupted = True
            say("    | (interrupting the kernel, as the interrupt button does)")
            os.kill(self.kernel_pid(), signal.SIGINT)
        return out

    def kernel_pid(self):
        provisioner = getattr(self.km, "provisioner", None)
        process = getattr(provisioner, "process", None) or getattr(self.km, "kernel", None)
        return process.pid


def error_text(cell):
    """The real error of a failed cell: its stderr stream output and any error output."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            parts.append(output.get("text", ""))
        elif output.get("output_type") == "error":
            parts.append("\n".join(output.get("traceback", [])) or f"{output.get('ename')}: {output.get('evalue')}")
    return "".join(parts).strip() or "(the cell wrote no error text)"


def indent(text, prefix="    "):
    return "\n".join(prefix + line for line in text.splitlines())


def rebase_imports(nb, notebook_dir, out_dir):
    """Rewrites relative imports (e.g. "../dist/lib") so that they resolve the same from out_dir."""
    def rebase(match):
        target = os.path.normpath(os.path.join(notebook_dir, match.group(3)))
        rel = os.path.relpath(target, out_dir).replace(os.sep, "/")
        if not rel.startswith("."):
            rel = "./" + rel
        return f"{match.group(1)}{match.group(2)}{rel}{match.group(2)}"

    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.source = RELATIVE_IMPORT.sub(rebase, cell.source)


def parse_cells(spec):
    """'1,10,12-15' -> [1, 10, 12, 13, 14, 15]"""
    cells = []
    for part in spec.split(","):
        first, _, last = part.strip().partition("-")
        cells.extend(range(int(first), int(last or first) + 1))
    return cells


def save(nb, notebook_path, out_dir, name=None):
    name = name or os.path.splitext(os.path.basename(notebook_path))[0]
    rebase_imports(nb, os.path.dirname(os.path.abspath(notebook_path)), os.path.abspath(out_dir))
    executed = os.path.join(out_dir, name + ".ipynb")
    with open(executed + ".tmp", "w", encoding="utf-8") as f:
        nbformat.write(nb, f)
    os.replace(executed + ".tmp", executed)
    # Trust the notebook we just executed: the Notebook UI only renders its scripts (Plotly) when signed.
    NotebookNotary().sign(nb)
    html, _ = HTMLExporter().from_notebook_node(nb)
    html_path = os.path.join(out_dir, name + ".html")
    with open(html_path, "w", encoding="utf-8") as f:
        f.write(html)
    say(f"  wrote {executed} (signed) and {html_path}")


def take_option(args, name):
    """The value of `name VALUE` in args (removed from them), None when absent; raises ValueError without a value."""
    if name not in args:
        return None
    i = args.index(name)
    if i + 1 >= len(args):
        raise ValueError(f"{name} needs a value")
    value = args[i + 1]
    del args[i : i + 2]
    return value


def main():
    args = sys.argv[1:]
    try:
        interrupt_at = take_option(args, "--interrupt-at")
        cells_spec = take_option(args, "--cells")
        save_as = take_option(args, "--save-as")
        only = parse_cells(cells_spec) if cells_spec else None
    except ValueError as e:
        say(f"{e}\n{__doc__}")
        return 2
    if len(args) != 2 or (only is not None and not save_as):
        say(__doc__)
        return 2
    notebook_path, out_dir = args
    os.makedirs(out_dir, exist_ok=True)
    nb = nbformat.read(notebook_path, as_version=4)
    kernel = nb.metadata.get("kernelspec", {}).get("name", "tslab")
    client = StreamingClient(
        nb,
        kernel_name=kernel,
        timeout=None,  # training cells legitimately run for many minutes
        record_timing=True,
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(notebook_path))}},
        interrupt_at=interrupt_at,
    )
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    if only is not None:
        missing = [n for n in only if not 1 <= n <= len(code_cells)]
        if missing:
            say(f"  --cells {cells_spec}: the notebook has code cells 1-{len(code_cells)} only")
            return 2
        say(f"  running only code cells {cells_spec}, in a fresh kernel")
    chosen = [(n, code_cells[n - 1]) for n in only] if only is not None else list(enumerate(code_cells, start=1))
    failed = False
    started = time.time()
    try:
        with client.setup_kernel():
            for count, (n, index) in enumerate(chosen, start=1):
                cell = nb.cells[index]
                t0 = time.time()
                client.last_echo = t0
                try:
                    client.execute_cell(cell, index, execution_count=count)
                except (CellExecutionError, DeadKernelError) as e:
                    failed = True
                    say(f"  cell {n}/{len(code_cells)} FAILED after {time.time() - t0:.1f} s")
                    say("  --- cell source ---")
                    say(indent(cell.source))
                    say("  --- error ---")
                    text = error_text(cell)
                    if isinstance(e, DeadKernelError):
                        text = f"the kernel died: {e}\n{text}"
                    say(indent(text))
                    break
                say(f"  cell {n}/{len(code_cells)} ok {time.time() - t0:7.1f} s  {first_line(cell.source)}")
    except Exception as e:  # the kernel did not start, or similar: not a cell's fault
        say(f"  could not run the notebook: {type(e).__name__}: {e}")
        return 2
    say(f"  {'FAILED' if failed else 'ok'} in {time.time() - started:.1f} s")
    save(nb, notebook_path, out_dir, save_as)
    return 1 if failed else 0


def first_line(source):
    line = next((s for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= 70 else line[:67] + "..."


if __name__ == "__main__":
    sys.exit(main())
