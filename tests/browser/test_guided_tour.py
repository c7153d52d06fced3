"""The README's guided tour in a real browser: headless Chromium, driven by Selenium, against `make run`'s stack.

Skipped when chromium, chromedriver or selenium is missing (`.ci/run` installs them when it can).
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tools.harness.ports import quiet_port

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = "/products/riveted-cooking-pot/"  # the first product of the demo catalogue, named in the README's tour

webdriver = pytest.importorskip("selenium.webdriver")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (shutil.which("chromium") and shutil.which("chromedriver")), reason="chromium and chromedriver needed"
    ),
]


def get(url: str) -> tuple[str, dict[str, str]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode(), dict(response.headers.items())


@pytest.fixture
def site(site_env, tmp_path):
    """`make run` (tools/stack.py run) on a new SQLite database, with its .run/ files in tmp_path."""
    port = quiet_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **site_env,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "SILK_ROAD_RUN_DIR": str(tmp_path),
        "SITE_URL": url,
        # The site gives Redis 50 ms before it serves from the database (a miss); a suite running beside
        # other work can be slower than that, and this test checks the tour, not Redis's latency.
        "REDIS_TIMEOUT": "1",
    }
    log = (tmp_path / "stack.log").open("w")
    command = [sys.executable, "-m", "tools.stack", "run", "--bind", f"127.0.0.1:{port}"]
    stack = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert stack.poll() is None, (tmp_path / "stack.log").read_text()
            assert time.monotonic() < deadline, "make run did not answer within 60 s"
            try:
                get(url + "/")
                break
            except OSError:
                time.sleep(0.2)
        yield url, (tmp_path / "admin-password").read_text().strip(), tmp_path / "stack.log"
    finally:
        stack.send_signal(signal.SIGINT)  # as Ctrl-C: the stack stops gunicorn and the relay
        try:
            stack.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stack.kill()


@pytest.fixture
def browser():
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium")
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()


def test_an_admin_edit_of_a_price_shows_on_the_cached_product_page(site, browser):
    from selenium.webdriver.common.by import By

    url, password, log = site
    assert f"user admin, password {password}" in log.read_text()  # what make run printed
    browser.get(url + PRODUCT)
    assert browser.find_element(By.CSS_SELECTOR, ".price").text != "$123.45"
    _, headers = get(url + PRODUCT)
    assert headers["X-Cache"] == "hit"  # the page is served from Redis before the edit
    pk = re.search(r"catalog\.product:(\d+)=", headers["X-Data-Version"]).group(1)

    browser.get(f"{url}/admin/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    # Wait for the login to land (the admin index names the user) before leaving the page: navigating at once
    # can abort the POST on a busy machine, and the change page then answers with the login form.
    assert "ADMIN" in browser.find_element(By.ID, "user-tools").text.upper()
    browser.get(f"{url}/admin/catalog/product/{pk}/change/")
    price = browser.find_element(By.NAME, "price")
    price.clear()
    price.send_keys("123.45")
    browser.find_element(By.NAME, "_save").click()
    assert "was changed successfully" in browser.find_element(By.CSS_SELECTOR, ".messagelist").text

    browser.get(url + PRODUCT)  # the reload of the tour
    assert browser.find_element(By.CSS_SELECTOR, ".price").text == "$123.45"


def test_the_readme_tour_names_the_product_the_test_edits():
    assert PRODUCT in (ROOT / "README.md").read_text()
