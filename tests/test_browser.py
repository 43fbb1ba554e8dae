"""The app in a real headless browser (Debian's Chromium and chromedriver, driven by selenium): load the page,
upload a toy scene, type the prompts, press Edit, find the edited picture; a screenshot goes to the test's temp folder.

Skipped, saying why, where no browser is installed (`.ci/run` installs `chromium chromium-driver`; a user's set-up never needs them).
"""
import shutil, socket, time
from pathlib import Path
import pytest

CHROMIUM = next((p for p in ('/usr/bin/chromium', '/usr/bin/chromium-browser') if Path(p).exists()), None)
DRIVER = shutil.which('chromedriver') or ('/usr/bin/chromedriver' if Path('/usr/bin/chromedriver').exists() else None)
if not (CHROMIUM and DRIVER):
    pytest.skip('no headless browser: /usr/bin/chromium and chromedriver are missing (apt-get install chromium chromium-driver)',
                allow_module_level=True)
pytest.importorskip('gradio', reason='the app needs the `app` extra: pip install "diffedit[app]"')
webdriver = pytest.importorskip('selenium.webdriver', reason='selenium is missing: pip install selenium (in the dev extra)')
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from diffedit import app
from diffedit.toy import toy_scene

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
         '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--window-size=1400,1300']

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture
def browser():
    opts = webdriver.ChromeOptions(); opts.binary_location = CHROMIUM
    for f in FLAGS: opts.add_argument(f)
    d = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=DRIVER))
    yield d
    d.quit()

def test_upload_edit_and_see_the_result(browser, tmp_path):
    toy_scene(2_000_000_001).image.save(tmp_path/'scene.png')
    demo = app.launch(models='toy', port=free_port(), device='cpu', block=False)
    try:
        b, wait = browser, WebDriverWait(browser, 240)
        b.get(demo.local_url)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'input[type=file]'))
        b.find_elements(By.CSS_SELECTOR, 'input[type=file]')[0].send_keys(str(tmp_path/'scene.png'))
        boxes = {t.get_attribute('placeholder'): t for t in b.find_elements(By.CSS_SELECTOR, 'textarea')}
        boxes['a horse'].send_keys('a purple triangle')
        boxes['a zebra'].send_keys('a blue triangle')
        b.find_element(By.TAG_NAME, 'h2').click()  # leaving the box previews the mask
        wait.until(lambda d: 'mask:' in d.find_element(By.ID, 'status').text)
        b.find_element(By.ID, 'edit-button').click()
        wait.until(lambda d: 'variation' in d.find_element(By.ID, 'status').text)
        imgs = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#results img'))
        assert imgs and all(i.get_attribute('src') for i in imgs)
        assert b.execute_script('return arguments[0].naturalWidth', imgs[0]) > 0  # the picture loaded
        b.save_screenshot(str(tmp_path/'app.png'))
        assert (tmp_path/'app.png').stat().st_size > 10_000
    finally:
        demo.close()
