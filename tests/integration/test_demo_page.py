"""The demo page (GET /) in a real browser: headless Chromium (Debian's chromium and
chromium-driver, driven with python3-selenium) picks a sample JPEG, and the page shows the
model's top-k labels with score bars, the top one right; a screenshot is taken and checked to
hold the bars. Plus CORS: cors_origin's headers and OPTIONS preflights, with real sockets."""

import io
import os
import shutil

import pytest

from f8d_process import serving

selenium = pytest.importorskip("selenium")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as EC  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def browser():
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        pytest.fail("chromium and chromium-driver are needed (scripts/install-deps.sh)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = shutil.which("chromium")
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=900,900"):
        opts.add_argument(a)
    service = Service(executable_path=shutil.which("chromedriver"))
    b = webdriver.Chrome(options=opts, service=service)
    b.set_page_load_timeout(30)
    try:
        yield b
    finally:
        b.quit()


def test_page_is_served(daemon):
    status, hdrs, body = daemon.request("GET", "/")
    assert status == 200
    assert hdrs["content-type"] == "text/html; charset=utf-8"
    assert b"<title>f8d</title>" in body and b"/predictions/" in body
    assert b"http://" not in body and b"https://" not in body  # nothing fetched from outside


SAMPLES = os.path.join(os.path.dirname(__file__), "..", "..", "samples")
SAMPLE_LABELS = {"ankle-boot.jpg": "Ankle boot", "trouser.jpg": "Trouser", "bag.jpg": "Bag"}


def test_upload_shows_top_labels(daemon, browser):
    """Each shipped sample JPEG, picked in the page: its right label on top, 3 bars."""
    for name, label in sorted(SAMPLE_LABELS.items()):
        path = os.path.abspath(os.path.join(SAMPLES, name))
        browser.get("http://127.0.0.1:%d/" % daemon.port)
        WebDriverWait(browser, 20).until(
            EC.text_to_be_present_in_element((By.ID, "model"), "fashion"))
        browser.execute_script("document.body.dataset.done = ''")
        topk = browser.find_element(By.ID, "topk")
        topk.clear()
        topk.send_keys("3")
        browser.find_element(By.ID, "file").send_keys(path)
        WebDriverWait(browser, 20).until(
            lambda b: b.execute_script("return document.body.dataset.done") == "1")
        rows = browser.find_elements(By.CSS_SELECTOR, "tr.prediction")
        assert len(rows) == 3
        assert rows[0].find_element(By.CSS_SELECTOR, "td.label").text == label, name
        scores = [float(r.find_element(By.CSS_SELECTOR, "td.score").text) for r in rows]
        assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
        assert " ms round trip" in browser.find_element(By.ID, "status").text
    # the screenshot holds the score bars: a run of the bar colour, as wide as the top score
    from PIL import Image
    png = browser.get_screenshot_as_png()
    if os.environ.get("F8D_DEMO_SCREENSHOT"):
        with open(os.environ["F8D_DEMO_SCREENSHOT"], "wb") as f:
            f.write(png)
    img = Image.open(io.BytesIO(png)).convert("RGB")
    bar = sum(1 for p in img.getdata() if p == (37, 99, 235))
    assert bar > 500, "no score bars in the screenshot (%d bar pixels)" % bar


def test_cors(model_file):
    with serving("--cors-origin", "https://app.example") as d:
        status, hdrs, _ = d.request("GET", "/v2/health/ready")
        assert status == 200
        assert hdrs["access-control-allow-origin"] == "https://app.example"
        assert "X-Request-Id" in hdrs["access-control-expose-headers"]
        status, hdrs, _ = d.request("OPTIONS", "/v2/models/fashion/infer",
                                    headers={"Origin": "https://app.example",
                                             "Access-Control-Request-Method": "POST"})
        assert status == 204
        assert hdrs["access-control-allow-methods"] == "POST"
        assert "Content-Type" in hdrs["access-control-allow-headers"]
        status, _, _ = d.request("OPTIONS", "/nowhere")
        assert status == 404


def test_no_cors_by_default(daemon):
    status, hdrs, _ = daemon.request("GET", "/v2/health/ready")
    assert status == 200 and "access-control-allow-origin" not in hdrs
    status, hdrs, _ = daemon.request("OPTIONS", "/predictions/fashion")
    assert status == 204 and hdrs["allow"] == "POST, PUT"
    assert "access-control-allow-methods" not in hdrs
