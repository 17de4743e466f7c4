"""The README's FastAPI example runs: the app, served by uvicorn on 127.0.0.1, calls the IAM-gated API of the local
AWS with AsyncApiClient (the same deployment as the README's three-line snippet, tests/test_docs.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from test_docs import seed_deployment
from xacct.local import LocalAws

from helpers import ROOT, closed_port, fenced, wait_for

FIXTURES = (seed_deployment,)  # test_docs' deployment of what the README names, used here


def _answers(url: str) -> bool:
    try:
        requests.get(url, timeout=1)
    except requests.ConnectionError:
        return False
    return True


@pytest.mark.xdist_group("apply")  # the accounts and role names test_apply and test_docs use
def test_the_readme_fastapi_handler_calls_the_api(local_aws: LocalAws, seed_deployment: dict[str, str]) -> None:
    snippet = fenced((ROOT / "README.md").read_text(), "python", "A FastAPI handler calling another team's API")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "XACCT_"))}
    env.update(seed_deployment, AWS_ENDPOINT_URL=local_aws.endpoint_url, XACCT_ENDPOINT_URL=local_aws.endpoint_url)
    port = closed_port()
    serve = f"\nimport uvicorn\nuvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n"
    with subprocess.Popen(
        [sys.executable, "-c", snippet + serve], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as app:
        try:
            wait_for(lambda: app.poll() is not None or _answers(f"http://127.0.0.1:{port}/"), timeout=30)
            assert app.poll() is None, app.communicate()[1]
            answers = [
                requests.put(f"http://127.0.0.1:{port}/hoge", json={"foo": "bar", "n": n}, timeout=30) for n in range(3)
            ]
        finally:
            app.terminate()
            _, stderr = app.communicate(timeout=30)
    for n, answer in enumerate(answers):
        assert answer.status_code == 200, (answer.text, stderr)
        echo = answer.json()  # what the API server received, through the local gateway
        assert (echo["method"], echo["path"], echo["body"]) == ("PUT", "/hoge", f'{{"foo":"bar","n":{n}}}')
        assert echo["caller"]["arn"].startswith("arn:aws:sts::111111111111:assumed-role/ApiAllowByIamRoleStag/")
