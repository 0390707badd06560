"""What an annotator sees, in a real browser (Debian's chromium driven by Selenium): the image, the
highlighted evidence, the pre-ticked choices; a click and Submit come back through ``review pull``."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from label_studio_sdk.client import LabelStudio
from typer.testing import CliRunner

from ctlabel.cli.main import app

pytestmark = pytest.mark.server
ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "annotations" / "sample"
# The README's screenshot is refreshed only when asked (CTLABEL_UPDATE_SCREENSHOT=1), so a test
# run leaves the checkout as it was.
SCREENSHOT = ROOT / "docs" / "img" / "review-task.png"
UPDATE_SCREENSHOT = os.environ.get("CTLABEL_UPDATE_SCREENSHOT") == "1"
RECORD = "demo01-p3-1%1.png"  # panel B: consolidation with air bronchograms, COVID-19 named
runner = CliRunner()


@pytest.fixture(scope="module")
def browser():
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip(
            "BROWSER TEST SKIPPED: no chromium/chromedriver (apt-get install chromium chromium-driver; .ci/run does)"
        )
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1500",
    ):
        options.add_argument(arg)
    try:
        chrome = webdriver.Chrome(service=Service(driver), options=options)
    except WebDriverException as exc:
        pytest.skip(f"BROWSER TEST SKIPPED: chromium did not start ({exc.msg})")
    chrome.set_page_load_timeout(180)
    yield chrome
    chrome.quit()


def wait_for(chrome, script: str, timeout: float = 120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = chrome.execute_script(script)
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"the page never satisfied: {script}")


def test_annotator_sees_image_evidence_and_choices_and_submits(label_studio, browser, tmp_path, monkeypatch):
    from selenium.webdriver.common.by import By

    monkeypatch.setenv("CTLABEL_CACHE", str(label_studio.cache))  # the server's state: images are served from its root
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.token)
    monkeypatch.delenv("LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT", raising=False)
    mined = tmp_path / "mined.jsonl"
    mine = runner.invoke(
        app,
        [
            "mine",
            "captions",
            str(SAMPLE / "captions.csv"),
            "-o",
            str(mined),
            "--id-col",
            "image",
            "--image-col",
            "image",
            "--text-col",
            "caption",
            "--text-col",
            "report",
        ],
    )
    assert mine.exit_code == 0, mine.output
    push = runner.invoke(
        app,
        ["review", "push", str(mined), "--project", "browser", "--images", str(SAMPLE / "images" / "covid"), "--json"],
    )
    assert push.exit_code == 0, push.output
    assert json.loads(push.stdout)["created"] == 12 and not json.loads(push.stdout)["notes"]
    record = next(r for r in map(json.loads, mined.read_text().splitlines()) if r["id"] == RECORD)
    positives = [c for c, v in record["lesions"].items() if v["state"] == "positive"]
    assert len(positives) >= 2 and record["covid"]["state"] == "positive"  # the sample record this test is about
    sdk = LabelStudio(base_url=label_studio.url, api_key=label_studio.token)
    project = next(p for p in sdk.projects.list() if p.title == "browser")
    task = next(t for t in sdk.tasks.list(project=project.id, fields="all") if t.data["id"] == RECORD)
    spans = [r["value"] for r in task.predictions[0].result if r["type"] == "labels"]
    assert spans

    browser.get(f"{label_studio.url}/user/login/")
    browser.find_element(By.NAME, "email").send_keys(label_studio.username)
    browser.find_element(By.NAME, "password").send_keys(label_studio.password)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, "return !location.pathname.startsWith('/user/login')")
    browser.get(f"{label_studio.url}/projects/{project.id}/data?task={task.id}")

    # the CT image has loaded in the task's image pane
    width = wait_for(
        browser, "const i = document.querySelector('.ctl-image img'); return i && i.complete && i.naturalWidth"
    )
    assert width > 0
    # every evidence span is highlighted with its label(s)
    # (the editor renders predictions after the text: slow on a loaded machine, so a longer wait)
    highlights = "document.querySelectorAll('.htx-highlight').length"
    try:
        wait_for(browser, f"return {highlights} >= {len(spans)}", timeout=300)
    except AssertionError:
        raise AssertionError(
            f"{browser.execute_script('return ' + highlights)} of {len(spans)} spans highlighted"
        ) from None
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll('.htx-highlight')).map(e => [e.textContent, e.dataset.label])"
    )
    for span in spans:
        assert any(
            text == span["text"] and label.split(":", 1)[1].split(",") == span["labels"] for text, label in shown
        ), (span, shown)
    # the choices are pre-ticked as the record says
    ticked = browser.execute_script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('input.ant-checkbox-input')).map(e => [e.name, e.checked]))"
    )
    assert ticked["COVID"] and not ticked["NonCOVID"] and not ticked["Uncertain"]
    assert {c for c in ("GGO", "Csld", "CrPa", "AirBr", "InSepThi") if ticked[c]} == set(positives)
    browser.save_screenshot(str(tmp_path / "review-task.png"))
    assert (tmp_path / "review-task.png").stat().st_size > 10_000
    if UPDATE_SCREENSHOT:
        shutil.copyfile(tmp_path / "review-task.png", SCREENSHOT)

    # untick one lesion and submit
    dropped = positives[-1]
    browser.execute_script(
        f"document.querySelector('input.ant-checkbox-input[name={dropped}]').closest('label').click()"
    )
    wait_for(browser, f"return !document.querySelector('input.ant-checkbox-input[name={dropped}]').checked", 10)
    submit = next(b for b in browser.find_elements(By.TAG_NAME, "button") if b.text.strip() == "Submit")
    submit.click()
    deadline = time.time() + 60
    while not sdk.annotations.list(id=task.id) and time.time() < deadline:
        time.sleep(0.5)

    out = tmp_path / "reviewed.jsonl"
    pull = runner.invoke(app, ["review", "pull", "--project", "browser", "-o", str(out), "--json"])
    assert pull.exit_code == 0, pull.output
    reviewed = {r["id"]: r for r in map(json.loads, out.read_text().splitlines())}[RECORD]
    assert reviewed["provenance"]["source"] == "human" and reviewed["provenance"]["annotators"] == [
        label_studio.username
    ]
    assert reviewed["lesions"][dropped]["state"] == "negative"
    assert all(reviewed["lesions"][c]["state"] == "positive" for c in positives if c != dropped)
    assert reviewed["covid"]["state"] == "positive"
