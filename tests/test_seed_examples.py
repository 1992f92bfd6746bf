"""The Python examples of seeds 001 and 003, read from ../shared/seeds and run against a real
`idphoto serve` with only the host, the key and the photo path changed (and, for seed 001,
its Python 2 `print result` written as Python 3's `print(result)`)."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from checker.keys import KeyStore, split_key

from .conftest import SHARED, need_shared
from .servers import Server

SEEDS = SHARED / "seeds"


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    need_shared(SEEDS, "the seed API documents")
    root = tmp_path_factory.mktemp("seed-examples")
    srv = Server(root / "tasks")
    key = KeyStore(srv.keys_db).create("examples", credits=10)
    srv.start()
    assert "1 active API key" in srv.stderr  # a keyed server says so, and listens where it was told
    yield srv, key
    srv.kill(signal.SIGTERM)


def seed_text(prefix: str) -> str:
    [path] = SEEDS.glob(f"{prefix}_*.txt")
    return path.read_text(encoding="utf-8")


def run(code: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_seed_001_python_example(keyed_server, faces_dir, tmp_path):
    srv, key = keyed_server
    text = seed_text("001")
    start = text.index("import requests", text.index("Python 样例"))
    end = text.index("\n", text.index('print("type error: "', start))
    code = text[start:end]
    key_id, secret = split_key(key)
    code = (code.replace("https://cloudapi.linkface.cn", srv.base).replace("'ID'", repr(key_id))
            .replace("'SECRET'", repr(secret)).replace("/selfie/file/path", str(faces_dir / "hivision_test3.jpg")))
    assert "print result" in code  # the seed's example is Python 2
    code = code.replace("print result", "print(result)")
    done = run(code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("b'\\x89PNG"), done.stdout[:200]  # the photo came back (as PNG bytes)


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_seed_003_python_examples(keyed_server, faces_dir, tmp_path):
    srv, key = keyed_server
    blocks = python_blocks(seed_text("003"))
    assert len(blocks) == 3
    credits = KeyStore(srv.keys_db).get(split_key(key)[0]).remaining
    photo = faces_dir / "hivision_test3.jpg"
    for code, path in zip(blocks, ("matting", "matting2", "mattingAndAnalysis"), strict=True):
        assert f"/api/v1/{path}'" in code
        code = (code.replace("http://www.picup.shop", srv.base).replace("INSERT_YOUR_API_KEY_HERE", key)
                .replace("/path/to/file.jpg", str(photo)))
        # The examples do not print; one added line shows what came back.
        done = run(code + "\nprint(response.status_code, response.headers['Content-Type'])\n"
                          "print(response.text if 'json' in response.headers['Content-Type'] else '')", tmp_path)
        assert done.returncode == 0, done.stderr
        status = done.stdout.split()[0]
        assert status == "200", done.stdout[:500]
        if path == "matting":
            rgba = np.asarray(Image.open(io.BytesIO((tmp_path / "out.png").read_bytes())))
            assert rgba.shape[2] == 4 and rgba[..., 3].min() == 0 and rgba[..., 3].max() == 255
        else:
            assert '"code":0' in done.stdout.replace(" ", "")
        if path == "mattingAndAnalysis":
            assert '"person_num":1' in done.stdout.replace(" ", "")
    assert KeyStore(srv.keys_db).get(split_key(key)[0]).remaining == credits - 3  # one credit a call


def test_a_wrong_key_is_refused_through_the_real_server(keyed_server, faces_dir, tmp_path):
    srv, key = keyed_server
    code = (f"import requests\nr = requests.post('{srv.base}/api/v1/matting2', "
            f"files={{'file': open('{faces_dir / 'hivision_test3.jpg'}', 'rb')}}, headers={{'APIKEY': 'k1.nope'}})\n"
            "print(r.status_code, r.json()['code'], r.json()['data'])")
    done = run(code, tmp_path)
    assert done.stdout.split() == ["401", "1002", "None"], done.stdout + done.stderr
