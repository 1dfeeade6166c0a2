"""Fixtures for real-browser tests of matcalc_magic in JupyterLab.

Everything here is general: a test asks for a notebook with some cells, gets
it open in a real JupyterLab page, and drives it through Playwright.

Fixtures
--------
``lab_server`` (session)
    A JupyterLab server on 127.0.0.1, on a free port, with a random token,
    ``--LabApp.expose_app_in_browser=True`` (so ``window.jupyterapp`` is the
    application), its own user-settings, workspaces and runtime directories,
    and the session's root directory (``server_root``).  It runs this
    checkout's JupyterLab extension (``matcalc_magic/labextension``, found
    first on ``JUPYTER_PATH``) and its server extension (``jupyter-config/``
    on ``JUPYTER_CONFIG_PATH``), whatever copy is installed.  Stopped through
    its own process handle at the end.  A :class:`LabServer`.
``plain_lab_server`` (session)
    The same, with matcalc_magic's JupyterLab extension disabled (as after
    ``pip install`` on a machine without Node.js).
``notebook_server`` (session)
    Notebook 7 on the same root directory, with this checkout's extension.
``browser`` (session)
    Debian's Chromium (``/usr/bin/chromium``, or ``$MATCALC_CHROMIUM``)
    launched headless by Playwright's sync API.
``context`` / ``page``
    A fresh browser context (clipboard read/write granted for the server's
    origin) and a page in it; the page records console errors in
    ``page.console_errors``.
``lab`` (session)
    This module, for its helpers (``open_file_in``, ``open_notebook_in``,
    ``make_notebook``, ``screenshot_notebook``): conftest modules cannot be
    imported by name.
``open_notebook``
    ``open_notebook(cells, name=None)`` writes a notebook (nbformat 4) into
    the server's root directory and opens it, alone, in ``page``; returns a
    :class:`LabNotebook` with helpers: locators (cells, editors, outputs),
    ``command(id, args)``, ``evaluate``/``wait_for`` with the notebook panel
    in scope, ``run_cell``/``run_all`` (the python3 kernel), sources.

Browser tests carry the ``browser`` marker.  Without Chromium or Playwright
they are skipped, unless ``MATCALC_REQUIRE_BROWSER=1`` (as in CI), when they
fail instead.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: where `pip install -e .` (or `jlpm build:prod` in labextension/) puts this checkout's extension
BUILT_EXTENSION = ROOT / "matcalc_magic" / "labextension"
#: the server configuration the package installs under etc/jupyter
SERVER_CONFIG = ROOT / "jupyter-config"
EXTENSION = "matcalc-magic"

CHROMIUM = os.environ.get("MATCALC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
]
SERVER_START_TIMEOUT = 90.0
#: the tallest screenshot taken in one piece (Chromium's limit is about 16k px)
MAX_SHOT_HEIGHT = 16_000
PIECE_HEIGHT = 1_200
APP_READY_TIMEOUT_MS = 60_000
KERNEL_TIMEOUT_MS = 90_000


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "browser: drives JupyterLab in a real (headless Chromium) browser",
    )


def _unavailable(reason: str) -> None:
    """Skip, or fail when a browser is required (MATCALC_REQUIRE_BROWSER=1)."""
    if os.environ.get("MATCALC_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser required (MATCALC_REQUIRE_BROWSER=1): {reason}")
    pytest.skip(reason)


# --------------------------------------------------------------------------
# The JupyterLab server
# --------------------------------------------------------------------------


@dataclass
class LabServer:
    """A running JupyterLab (``app="lab"``) or Notebook 7 (``app="notebook"``) server."""

    url: str
    token: str
    root_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    app: str = "lab"

    def lab_url(self, path: str = "") -> str:
        """URL of ``/lab/<path>`` with the token."""
        sep = "&" if "?" in path else "?"
        return f"{self.url}/lab/{path}{sep}token={self.token}"

    def notebook_url(self, name: str) -> str:
        """URL of a notebook of the root directory in this server's own UI."""
        if self.app == "notebook":
            return f"{self.url}/notebooks/{name}?token={self.token}"
        return self.lab_url(f"tree/{name}?reset")

    def log(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings_dir: Path) -> None:
    """User settings that keep the UI deterministic for tests."""
    settings = {
        # No news or update checks (no network, no pop-ups).
        "@jupyterlab/apputils-extension/notification": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
        # Every cell in the DOM, whether or not it is scrolled into view.
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    }
    for plugin, values in settings.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def _prepend(variable: str, path: Path) -> str:
    rest = [p for p in os.environ.get(variable, "").split(os.pathsep) if p]
    return os.pathsep.join([str(path), *rest])


def checkout_environment(base: Path, extension: bool = True) -> dict[str, str]:
    """Environment of a Jupyter server that runs this checkout's extensions:
    the built JupyterLab extension first on JUPYTER_PATH (the first copy
    found wins) and the server extension's config on JUPYTER_CONFIG_PATH.
    Without ``extension``, the JupyterLab extension is disabled instead."""
    env = {"JUPYTER_CONFIG_PATH": _prepend("JUPYTER_CONFIG_PATH", SERVER_CONFIG)}
    if extension:
        if not (BUILT_EXTENSION / "package.json").exists():
            _unavailable(f"this checkout's JupyterLab extension is not built ({BUILT_EXTENSION}): "
                         "pip install -e . builds it, or jlpm install && jlpm build:prod in labextension/")
        data = base / "data"
        (data / "labextensions").mkdir(parents=True, exist_ok=True)
        link = data / "labextensions" / EXTENSION
        if not link.exists():
            link.symlink_to(BUILT_EXTENSION, target_is_directory=True)
        env["JUPYTER_PATH"] = _prepend("JUPYTER_PATH", data)
    else:
        config = base / "config"
        (config / "labconfig").mkdir(parents=True, exist_ok=True)
        (config / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {EXTENSION: True}}))
        env["JUPYTER_CONFIG_DIR"] = str(config)
    return env


def start_server(base: Path, root: Path, app: str = "lab", extension: bool = True) -> LabServer:
    """Start a JupyterLab or Notebook 7 server on ``root`` (see the module docstring)."""
    settings = base / "settings"
    workspaces = base / "workspaces"
    runtime = base / "runtime"
    for d in (settings, workspaces, runtime):
        d.mkdir(parents=True, exist_ok=True)
    _write_settings(settings)
    port = _free_port()
    token = secrets.token_hex(24)
    log_path = base / "server.log"
    app_class = "LabApp" if app == "lab" else "JupyterNotebookApp"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab" if app == "lab" else "notebook",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.token={token}",
        f"--{app_class}.expose_app_in_browser=True",
        f"--ServerApp.root_dir={root}",
        f"--{app_class}.user_settings_dir={settings}",
        f"--{app_class}.workspaces_dir={workspaces}",
    ]
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=str(runtime), **checkout_environment(base, extension))
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, process, log_path, app)
    try:
        _wait_for_server(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: LabServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(timeout=10)


@pytest.fixture(scope="session")
def lab() -> types.ModuleType:
    """This module's helpers, for tests (see the module docstring)."""
    return sys.modules[__name__]


@pytest.fixture(scope="session")
def server_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The directory every server of the session serves."""
    return tmp_path_factory.mktemp("notebooks")


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory, server_root: Path) -> Iterator[LabServer]:
    """JupyterLab with this checkout's extensions (see module docstring)."""
    server = start_server(tmp_path_factory.mktemp("jupyterlab"), server_root)
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def plain_lab_server(tmp_path_factory: pytest.TempPathFactory, server_root: Path) -> Iterator[LabServer]:
    """JupyterLab without matcalc_magic's JupyterLab extension."""
    server = start_server(tmp_path_factory.mktemp("plain-jupyterlab"), server_root, extension=False)
    yield server
    stop_server(server)


@pytest.fixture(scope="session")
def notebook_server(tmp_path_factory: pytest.TempPathFactory, server_root: Path) -> Iterator[LabServer]:
    """Notebook 7 with this checkout's extensions."""
    server = start_server(tmp_path_factory.mktemp("notebook7"), server_root, app="notebook")
    yield server
    stop_server(server)


def _wait_for_server(server: LabServer) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    status = f"{server.url}/api/status?token={server.token}"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with {server.process.returncode}:\n{server.log()}"
            )
        try:
            with urllib.request.urlopen(status, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"JupyterLab did not start in {SERVER_START_TIMEOUT} s:\n{server.log()}")


# --------------------------------------------------------------------------
# The browser
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium driven by Playwright (sync API)."""
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a test dependency
        _unavailable("playwright is not installed")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser: Any, lab_server: LabServer) -> Iterator[Any]:
    """A fresh browser context that may read and write the clipboard."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab_server.url)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    """A page; ``page.console_errors`` lists console errors and page errors."""
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.console_errors = errors
    yield pg
    pg.close()


# --------------------------------------------------------------------------
# Notebooks
# --------------------------------------------------------------------------

def make_notebook(cells: Iterable[str | tuple[str, str]]) -> Any:
    """An nbformat 4 notebook; a cell is source text (code) or (type, source)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for cell in cells:
        kind, source = ("code", cell) if isinstance(cell, str) else cell
        if kind == "code":
            nb.cells.append(nbformat.v4.new_code_cell(source))
        elif kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        elif kind == "raw":
            nb.cells.append(nbformat.v4.new_raw_cell(source))
        else:
            raise ValueError(f"unknown cell type {kind!r}")
    return nb


# JavaScript expression for the notebook panel whose widget id is ``id``.
_PANEL = "[...window.jupyterapp.shell.widgets('main')].find(w => w.id === id)"


@dataclass
class LabNotebook:
    """A notebook open in a JupyterLab page.

    ``widget_id`` is the id of its notebook panel: page scripts reach the
    panel with ``[...window.jupyterapp.shell.widgets('main')].find(...)``.
    """

    page: Any
    server: LabServer
    path: Path
    widget_id: str

    # Locators -------------------------------------------------------------

    @property
    def panel(self) -> Any:
        """The notebook panel (``.jp-NotebookPanel``)."""
        return self.page.locator(f"[id='{self.widget_id}']")

    @property
    def cells(self) -> Any:
        """All cells of the notebook."""
        return self.panel.locator(".jp-Notebook .jp-Cell")

    def cell(self, index: int) -> Any:
        return self.cells.nth(index)

    def editor(self, index: int) -> Any:
        """The CodeMirror editor (``.cm-editor``) of a cell."""
        return self.cell(index).locator(".cm-editor")

    def output(self, index: int) -> Any:
        """The output area of a code cell."""
        return self.cell(index).locator(".jp-OutputArea")

    # Application ----------------------------------------------------------

    def evaluate(self, body: str, arg: Any = None) -> Any:
        """Evaluate ``body`` (a JS expression) with ``nb`` the notebook panel
        and ``arg`` the argument."""
        return self.page.evaluate(
            f"([id, arg]) => {{ const nb = {_PANEL}; return ({body}); }}",
            [self.widget_id, arg],
        )

    def wait_for(self, body: str, arg: Any = None, timeout_ms: int = 30_000) -> None:
        """Wait until ``body`` (as in :meth:`evaluate`) is truthy."""
        self.page.wait_for_function(
            f"([id, arg]) => {{ const nb = {_PANEL}; return !!nb && !!({body}); }}",
            arg=[self.widget_id, arg],
            timeout=timeout_ms,
        )

    def command(self, command_id: str, args: dict[str, Any] | None = None) -> Any:
        """Run a JupyterLab command through ``window.jupyterapp``."""
        return self.page.evaluate(
            "([id, args]) => window.jupyterapp.commands.execute(id, args)",
            [command_id, args or {}],
        )

    def has_command(self, command_id: str) -> bool:
        return self.page.evaluate(
            "id => window.jupyterapp.commands.hasCommand(id)", command_id
        )

    def activate(self) -> None:
        """Make this notebook the current widget."""
        self.page.evaluate(
            "id => window.jupyterapp.shell.activateById(id)", self.widget_id
        )

    def select_cell(self, index: int) -> None:
        """Make a cell active (command mode)."""
        self.activate()
        self.evaluate(
            "(nb.content.activeCellIndex = arg, nb.content.mode = 'command')", index
        )

    def active_cell_index(self) -> int:
        return self.evaluate("nb.content.activeCellIndex")

    def source(self, index: int) -> str:
        """A cell's source, from the model."""
        return self.evaluate("nb.content.widgets[arg].model.sharedModel.getSource()", index)

    def cell_count(self) -> int:
        return self.evaluate("nb.content.widgets.length")

    # Kernel ---------------------------------------------------------------

    def wait_for_kernel_idle(self, timeout_ms: int = KERNEL_TIMEOUT_MS) -> None:
        self.wait_for(
            "nb.sessionContext.session && nb.sessionContext.session.kernel"
            " && nb.sessionContext.session.kernel.status === 'idle'",
            timeout_ms=timeout_ms,
        )

    def run_cell(self, index: int, timeout_ms: int = KERNEL_TIMEOUT_MS) -> None:
        """Run one cell and wait until it has run and its output is shown."""
        self.wait_for_kernel_idle(timeout_ms)
        self.select_cell(index)
        self.command("notebook:run-cell")
        self.wait_for(
            "nb.content.widgets[arg].model.executionCount !== null", index, timeout_ms
        )
        self.wait_for_kernel_idle(timeout_ms)

    def run_all(self, timeout_ms: int = KERNEL_TIMEOUT_MS) -> None:
        """Run every cell and wait for the kernel to be idle again."""
        self.wait_for_kernel_idle(timeout_ms)
        self.activate()
        self.command("notebook:run-all-cells")
        self.wait_for(
            "nb.content.widgets.filter(c => c.model.type === 'code')"
            ".every(c => c.model.executionCount !== null)",
            timeout_ms=timeout_ms,
        )
        self.wait_for_kernel_idle(timeout_ms)


def open_notebook_in(
    page: Any,
    server: LabServer,
    cells: Sequence[str | tuple[str, str]],
    name: str,
) -> LabNotebook:
    """Write a notebook into the server's root and open it alone in ``page``.

    The URL resets the workspace, so notebooks of earlier tests do not
    reopen.
    """
    import nbformat

    path = server.root_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(make_notebook(cells), str(path))
    nb = open_file_in(page, server, name)
    if cells:
        nb.cell(len(cells) - 1).locator(".cm-editor").wait_for(
            state="attached", timeout=APP_READY_TIMEOUT_MS
        )
    return nb


def open_file_in(page: Any, server: LabServer, name: str) -> LabNotebook:
    """Open the notebook ``name`` of the server's root alone in ``page``, as
    it is on disk, and wait until its document is ready."""
    page.goto(server.notebook_url(name))
    page.wait_for_function(
        """name => {
            const app = window.jupyterapp;
            if (!app || !app.shell) return false;
            const w = [...app.shell.widgets('main')].find(
                w => w.context && w.context.path === name && w.content);
            return !!w && w.context.isReady && w.id;
        }""",
        arg=name,
        timeout=APP_READY_TIMEOUT_MS,
    )
    widget_id = page.evaluate(
        """name => [...window.jupyterapp.shell.widgets('main')].find(
            w => w.context && w.context.path === name).id""",
        name,
    )
    return LabNotebook(page, server, server.root_dir / name, widget_id)


@pytest.fixture
def open_notebook(
    page: Any, lab_server: LabServer, request: pytest.FixtureRequest
) -> Callable[..., LabNotebook]:
    """``open_notebook(cells, name=None)`` -> :class:`LabNotebook` in ``page``.

    ``cells`` are source strings (code cells) or ``(type, source)`` pairs with
    type ``code``, ``markdown`` or ``raw``.  The default file name comes from
    the test's name, so tests do not share notebooks.
    """

    def _open(
        cells: Sequence[str | tuple[str, str]], name: str | None = None
    ) -> LabNotebook:
        fname = name or f"{request.node.name.replace('[', '_').replace(']', '')}.ipynb"
        return open_notebook_in(page, lab_server, cells, fname)

    return _open


def screenshot_notebook(nb: LabNotebook, path: str) -> None:
    """The whole notebook in one picture: make the window as tall as the notebook."""
    page = nb.page
    if nb.server.app == "lab" and page.locator("#jp-left-stack:visible").count():
        nb.command("application:toggle-left-area")
    height = nb.evaluate(
        "Math.max(...[nb.content.node, ...nb.content.node.querySelectorAll('*')]"
        ".filter(e => e.scrollHeight > e.clientHeight + 10).map(e => e.scrollHeight), 0)")
    page.set_viewport_size({"width": 1280, "height": int(min(MAX_SHOT_HEIGHT, height + 200))})
    nb.select_cell(0)
    nb.evaluate("[nb.content.node, ...nb.content.node.querySelectorAll('*')]"
                ".forEach(e => { if (e.scrollTop) e.scrollTop = 0; })")
    page.wait_for_timeout(1500)  # let the layout and MathJax settle at the new size
    page.screenshot(path=path)
    # and in pieces of one screen each, easier to look at: <path stem>_1.png, _2.png, ...
    full = page.viewport_size["height"]
    for k, top in enumerate(range(0, full, PIECE_HEIGHT), start=1):
        clip = {"x": 0, "y": top, "width": 1280, "height": min(PIECE_HEIGHT, full - top)}
        page.screenshot(path=path.replace(".png", f"_{k}.png"), clip=clip)
