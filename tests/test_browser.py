"""The interactive views in a real browser: JupyterLab on 127.0.0.1 driven by headless Chromium.

Chapter 07 is run in quick mode, its alpha slider moved (typed into the slider's readout, as a
user can), and the figure must change with no cell showing an error; chapter 08's explorer is
run the same way, another example picked, and an image and a sound uploaded through the file
inputs. Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install -y chromium
chromium-driver``; ``.ci/run`` installs them) and Selenium; skipped without them. On failure a
screenshot of the page is saved under ``build/browser/`` (always, with
``SLAVC_LITE_BROWSER_SCREENSHOTS=1``).

The notebooks are copied to a temporary folder first, so JupyterLab's autosave never writes
outputs into the sources; data, runs and figures go to temporary folders as well.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip("Chromium and chromium-driver are not installed "
                "(apt-get install -y chromium chromium-driver)", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver")
pytest.importorskip("jupyterlab")
pytest.importorskip("ipywidgets")

from selenium.common.exceptions import ElementClickInterceptedException, WebDriverException  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

NOTEBOOK_TIMEOUT_S = 600
SCREENSHOTS = ROOT / "build" / "browser"
SCREENSHOTS_ENV = "SLAVC_LITE_BROWSER_SCREENSHOTS"
"""Set (``1``) to keep a screenshot of each chapter at the end of its test, passed or not."""

#: The notebook panel of the file named ``arguments[0]`` (JupyterLab may restore other tabs too).
PANEL_JS = """
const app = window.jupyterapp;
if (!app) { return null; }
const panel = Array.from(app.shell.widgets('main')).find(
  w => w.context && w.context.path === arguments[0] && w.content && w.content.model && w.sessionContext);
"""

#: The state of that notebook: code cells not run yet, error outputs, kernel status.
STATE_JS = PANEL_JS + """
if (!panel) { return null; }
const cells = panel.content.model.cells;
let pending = 0; const errors = [];
for (let i = 0; i < cells.length; i++) {
  const cell = cells.get(i);
  if (cell.type !== 'code') { continue; }
  if (cell.executionCount === null) { pending += 1; }
  for (const out of cell.outputs.toJSON()) {
    if (out.output_type === 'error') { errors.push(out.ename + ': ' + out.evalue); }
  }
}
return {pending: pending, errors: errors, status: panel.sessionContext.kernelDisplayStatus};
"""

#: Make that notebook the current tab and run all its cells.
RUN_ALL_JS = PANEL_JS + """
app.shell.activateById(panel.id);
if (app.shell.currentWidget !== panel) { return false; }
app.commands.execute('notebook:run-all-cells');
return true;
"""

#: Make a detached file input, when clicked, join the page (numbered) instead of opening a chooser.
EXPOSE_FILE_INPUTS_JS = """
const click = HTMLInputElement.prototype.click;
window.__uploads = 0;
HTMLInputElement.prototype.click = function () {
  if (this.type === 'file' && !this.isConnected) {
    window.__uploads += 1;
    this.setAttribute('data-upload', String(window.__uploads));
    this.style.display = 'block';
    document.body.appendChild(this);
    return;
  }
  return click.call(this);
};
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab serving a copy of the notebooks, in quick mode; yields (base URL, token)."""
    work = tmp_path_factory.mktemp("browser")
    notebooks = work / "notebooks"
    shutil.copytree(ROOT / "notebooks", notebooks)
    port, token = _free_port(), secrets.token_hex(16)
    # A fresh profile would ask "get notified about Jupyter news?" in a toast over the cells.
    settings = work / "lab-settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(work / "lab-settings"),
               SLAVC_LITE_QUICK="1", SLAVC_LITE_DATA=str(work / "data"),
               SLAVC_LITE_RUNS=str(work / "runs"), SLAVC_LITE_BUILD=str(work / "build"),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               JUPYTER_CONFIG_DIR=str(work / "jupyter-config"), OMP_NUM_THREADS="1")
    log = open(work / "jupyterlab.log", "wb")  # noqa: SIM115 - closed at teardown
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={notebooks}",
         "--LabApp.expose_app_in_browser=True",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--LabApp.news_url=None",  # no "get notified about news?" toast over the cells
         *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5).read()
                break
            except OSError as exc:
                if server.poll() is not None or time.monotonic() > deadline:
                    tail = (work / "jupyterlab.log").read_text(errors="replace")[-3000:]
                    raise RuntimeError(f"JupyterLab did not start: {tail}") from exc
                time.sleep(1)
        yield base, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1500,1100"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


class Page:
    """One notebook open in JupyterLab; ``screenshot`` on failure."""

    def __init__(self, driver, lab, name: str):
        self.driver, self.name = driver, name
        base, token = lab
        # A workspace of its own, reset: only this notebook's tab is open.
        driver.get(f"{base}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={token}")
        self.wait(120).until(lambda d: (self.state() or {}).get("status") == "idle",
                             "the notebook's kernel did not start")

    def state(self) -> dict | None:
        return self.driver.execute_script(STATE_JS, self.name)

    def wait(self, seconds: float) -> WebDriverWait:
        return WebDriverWait(self.driver, seconds, poll_frequency=1.0,
                             ignored_exceptions=(WebDriverException,))

    def run_all(self) -> None:
        self.wait(30).until(lambda d: d.execute_script(RUN_ALL_JS, self.name), "cannot run the notebook")

        def finished(driver):
            state = self.state()
            if state["errors"]:
                raise AssertionError(f"{self.name}: a cell shows an error: {state['errors']}")
            return state["pending"] == 0 and state["status"] == "idle"

        self.wait(NOTEBOOK_TIMEOUT_S).until(finished, f"{self.name} did not finish running")

    def find(self, css: str):
        return self.wait(60).until(lambda d: d.find_element(By.CSS_SELECTOR, css), f"no element {css}")

    def image_src(self, css: str = ".widget-image") -> str:
        return self.find(css).get_attribute("src")

    def changes(self, read, what: str, before):
        return self.wait(60).until(lambda d: read() != before and read(), f"{what} did not change")

    def screenshot(self) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{Path(self.name).stem}.png"
        self.driver.save_screenshot(str(path))
        return path


def _on_failure_screenshot(page: Page):
    class Guard:
        def __enter__(self):
            return page

        def __exit__(self, kind, exc, tb):
            if exc is not None or os.environ.get(SCREENSHOTS_ENV):
                print(f"screenshot of the page: {page.screenshot()}")
            return False

    return Guard()


def _click(element, tries: int = 10) -> None:
    """Click as a user does, after scrolling the element to the middle of the view; while something
    (a toast, the notebook still laying out) covers it, wait and try again."""
    driver = element.parent
    for attempt in range(tries):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        try:
            element.click()
            return
        except ElementClickInterceptedException:
            if attempt == tries - 1:
                raise
            time.sleep(0.5)


def _type_into_readout(readout, value: str) -> None:
    _click(readout)
    readout.send_keys(Keys.CONTROL, "a")
    readout.send_keys(value, Keys.ENTER)


def test_chapter_07_alpha_slider_redraws_the_figure(browser, lab):
    page = Page(browser, lab, "07_alpha_figure.ipynb")
    with _on_failure_screenshot(page):
        page.run_all()
        before = page.image_src()
        caption = page.find(".widget-html").text
        assert "0.40" in caption
        _type_into_readout(page.find(".widget-hslider .widget-readout"), "0.85")
        page.changes(page.image_src, "the slider's figure", before)
        page.wait(30).until(lambda d: "0.85" in page.find(".widget-html").text, "the caption says alpha 0.85")
        assert not page.state()["errors"]


def test_chapter_08_explorer_picks_and_uploads(browser, lab, tmp_path):
    page = Page(browser, lab, "08_hard_cases.ipynb")
    with _on_failure_screenshot(page):
        page.run_all()
        picker = Select(page.find(".widget-dropdown select"))
        first = picker.first_selected_option.text
        before = page.image_src()
        picker.select_by_index(1)
        page.changes(page.image_src, "the explorer's figure after picking another pair", before)
        assert picker.first_selected_option.text != first

        image, sound = tmp_path / "my_scene.jpg", tmp_path / "my_sound.wav"
        shutil.copy(sorted((ROOT / "assets" / "examples").glob("*.jpg"))[0], image)
        shutil.copy(sorted((ROOT / "assets" / "examples").glob("*.wav"))[-1], sound)
        # A FileUpload button opens the file chooser of a file input that is not in the page; put that
        # input into the page instead, so the browser driver can hand it a file as a user's chooser does.
        browser.execute_script(EXPOSE_FILE_INPUTS_JS)
        buttons = browser.find_elements(By.CSS_SELECTOR, "button.widget-upload")
        assert len(buttons) == 2
        for number, (button, path) in enumerate(zip(buttons, (image, sound), strict=True), start=1):
            _click(button)
            page.find(f"input[data-upload='{number}']").send_keys(str(path))
            page.wait(60).until(lambda d, b=button: "(1)" in b.text, f"upload {path.name} was not received")
        before, chosen = page.image_src(), picker.first_selected_option.text
        button = next(b for b in browser.find_elements(By.CSS_SELECTOR, "button")
                      if "localize my pair" in b.text)
        _click(button)
        page.changes(lambda: Select(page.find(".widget-dropdown select")).first_selected_option.text,
                     "the picked pair after the upload", chosen)
        assert Select(page.find(".widget-dropdown select")).first_selected_option.text == \
            "upload: my_scene.jpg + my_sound.wav"
        page.changes(page.image_src, "the explorer's figure after the upload", before)
        assert not page.state()["errors"]
