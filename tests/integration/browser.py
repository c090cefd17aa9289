"""A real headless Chromium (Debian's, driven by selenium through chromedriver) and axe-core.

Both come from scripts/bootstrap: apt's ``chromium`` and ``chromium-driver``, npm's
``axe-core`` in the gitignored ``.tools/``. In CI (``CI=true``) a missing one is a
failure; on a developer's machine the test is skipped with the reason.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / ".tools" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# The flags that work on this kind of machine (a closed network, root, no GPU).
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",  # screenshots as wide as asked
)
DESKTOP = (1280, 900)
PHONE = (375, 812)


def require_browser_tools() -> None:
    """Fail in CI, skip elsewhere, when Chromium, ChromeDriver, selenium or axe-core is missing."""
    missing = [
        name
        for name, there in (
            ("chromium", Path(CHROMIUM).exists()),
            ("chromedriver", Path(CHROMEDRIVER).exists()),
            ("axe-core (.tools/node_modules)", AXE.exists()),
        )
        if not there
    ]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip, dev extra)")
    if not missing:
        return
    reason = f"browser tools missing: {', '.join(missing)}; run scripts/bootstrap"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass
class Browser:
    driver: Any  # selenium.webdriver.Chrome

    def open(self, url: str, *, javascript: bool = True) -> None:
        self.driver.execute_cdp_cmd(
            "Emulation.setScriptExecutionDisabled", {"value": not javascript}
        )
        self.driver.get(url)

    def text(self) -> str:
        """What the page shows (the rendered text of the body)."""
        return str(self.driver.find_element("tag name", "body").text)

    def html_lang(self) -> str:
        return str(self.driver.find_element("tag name", "html").get_attribute("lang"))

    def axe(self) -> list[dict[str, Any]]:
        """axe-core's violations on the open page (WCAG 2.0-2.2 A and AA, best practices)."""
        self.driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
        self.driver.execute_script(AXE.read_text("utf-8"))
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {runOnly: {type: 'tag', values:"
            " ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
            ".then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify("
            "[{id: 'axe-error', impact: 'critical', description: String(e), nodes: []}])));"
        )
        violations: list[dict[str, Any]] = json.loads(result)
        return violations

    def screenshot(self, path: Path, size: tuple[int, int], *, mobile: bool = False) -> Path:
        """The whole page, ``size[0]`` CSS pixels wide, as PNG."""
        width, height = size
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
        )
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}
        )
        self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def page_width(self) -> int:
        return int(self.driver.execute_script("return document.documentElement.scrollWidth"))


@contextmanager
def chromium(profile: Path) -> Iterator[Browser]:
    """A fresh headless Chromium with its own empty profile, closed at the end."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        driver.set_script_timeout(60)
        driver.set_page_load_timeout(60)
        yield Browser(driver)
    finally:
        driver.quit()


def serious(violations: list[dict[str, Any]]) -> list[str]:
    """The serious and critical violations, one readable line each."""
    return [
        f"{v['id']} ({v['impact']}): {v.get('description', '')} at "
        + "; ".join(str(n.get("target")) for n in v.get("nodes", []))
        for v in violations
        if v.get("impact") in ("serious", "critical")
    ]
