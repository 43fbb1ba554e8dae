"""The app in a real headless browser (Debian's Chromium and chromedriver, driven by selenium): load the page,
upload a toy scene, type the prompts, paint on the mask with the brush, press Edit, find the edited pictures; a
screenshot goes to the test's temp folder (and to $DIFFEDIT_APP_SCREENSHOT if set: how nbs/images/app.png is made).

Skipped, saying why, where no browser is installed (`.ci/run` installs `chromium chromium-driver`; a user's set-up never needs them).
"""
import os, shutil, socket, time
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
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait
from selenium.webdriver.common.action_chains import ActionChains
from diffedit import app
from diffedit.toy import horse_scene

FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run',
         '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage', '--window-size=1400,1500']

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
    horse_scene(2_000_000_000, size=(256, 192), animals=("horse", "zebra")).image.save(tmp_path/'scene.png')  # a validation scene: a chestnut horse, a zebra and a green triangle
    demo = app.launch(models='toy', port=free_port(), device='cpu', block=False)
    try:
        b, wait = browser, WebDriverWait(browser, 240)
        b.get(demo.local_url)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, 'input[type=file]'))
        b.find_elements(By.CSS_SELECTOR, 'input[type=file]')[0].send_keys(str(tmp_path/'scene.png'))
        boxes = {t.get_attribute('placeholder'): t for t in b.find_elements(By.CSS_SELECTOR, 'textarea')}
        boxes['a horse'].send_keys('a horse')
        boxes['a zebra'].send_keys('a zebra')
        boxes['a zebra'].send_keys(Keys.TAB)  # leaving the box previews the mask (a click elsewhere may land on a loading overlay)
        wait.until(lambda d: 'mask:' in d.find_element(By.ID, 'status').text)
        mask_src = lambda d: [i.get_attribute('src') for i in d.find_elements(By.CSS_SELECTOR, '#mask img')]
        before = wait.until(mask_src)
        canvas = b.find_elements(By.CSS_SELECTOR, '#brush-editor canvas')[-1]  # the brush is the editor's first tool
        ActionChains(b).move_to_element_with_offset(canvas, -62, 22).click_and_hold().move_by_offset(14, 0).release().perform()
        wait.until(lambda d: mask_src(d) and mask_src(d) != before)  # the painted stroke reached the mask
        b.find_element(By.ID, 'edit-button').click()
        wait.until(lambda d: 'variation' in d.find_element(By.ID, 'status').text)
        assert 'your painted mask' in b.find_element(By.ID, 'status').text
        imgs = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, '#results img'))
        assert len(imgs) == 3 and all(i.get_attribute('src') for i in imgs)
        wait.until(lambda d: all(d.execute_script('return arguments[0].complete && arguments[0].naturalWidth', i) for i in imgs))
        b.save_screenshot(str(tmp_path/'app.png'))
        assert (tmp_path/'app.png').stat().st_size > 10_000
        if os.environ.get('DIFFEDIT_APP_SCREENSHOT'): shutil.copy(tmp_path/'app.png', os.environ['DIFFEDIT_APP_SCREENSHOT'])
    finally:
        demo.close()
