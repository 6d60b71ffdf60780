"""Headless Chromium driven through chromedriver's WebDriver protocol (JSON
over HTTP, standard library only): open a page, run a script in it, take a
screenshot.  Debian packages chromium and chromium-driver.

    b = Browser(port)            # starts chromedriver, then a session
    b.open(url); b.script("return document.title"); b.screenshot(path)
    b.close()                    # also done at the end of the test (by PID)
"""

import base64
import json
import os
import shutil
import urllib.request

from .proc import spawn, wait_until, workdir


def available():
    return bool(shutil.which("chromedriver") and
                (shutil.which("chromium") or os.path.exists("/usr/bin/chromium")))


class Browser:
    def __init__(self, port, width=1200, height=900):
        self.dir = workdir("chromium")
        self.base = "http://127.0.0.1:%d" % port
        self.proc = spawn(["chromedriver", "--port=%d" % port],
                          os.path.join(self.dir, "chromedriver.log"))
        wait_until(lambda: self._ready(), 10, interval=0.2)
        caps = {"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=%d,%d" % (width, height),
                     "--user-data-dir=" + os.path.join(self.dir, "profile")]}}}}
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _ready(self):
        try:
            return self._call("GET", "/status").get("ready")
        except OSError:
            return False

    def _call(self, method, path, body=None, timeout=30):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            out = json.loads(r.read().decode() or "{}")
        v = out.get("value", out)
        if isinstance(v, dict) and v.get("error"):
            raise RuntimeError("webdriver: %s: %s" % (v["error"], v.get("message", "")[:300]))
        return v

    def open(self, url):
        return self._call("POST", "/session/%s/url" % self.session, {"url": url})

    def script(self, js, *args):
        return self._call("POST", "/session/%s/execute/sync" % self.session,
                          {"script": js, "args": list(args)})

    def text(self, element_id):
        return self.script("var e = document.getElementById(arguments[0]);"
                           " return e ? e.textContent : null;", element_id)

    def screenshot(self, path):
        png = base64.b64decode(self._call("GET", "/session/%s/screenshot" % self.session))
        with open(path, "wb") as f:
            f.write(png)
        return len(png)

    def close(self):
        try:
            self._call("DELETE", "/session/%s" % self.session, timeout=10)
        except Exception:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except Exception:
                self.proc.kill()
