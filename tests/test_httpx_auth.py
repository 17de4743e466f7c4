"""HttpxIamAuth against the local AWS's gateway (botocore checks every signature): a plain httpx.Client and
httpx.AsyncClient, streamed and multipart bodies, a body changed after signing; and the shared async credential
source (AsyncCredentials): one sts:AssumeRole however many tasks ask, never on the event loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest
from botocore.credentials import Credentials

from xacct import ConfigError, HttpxIamAuth, InsecureTransport
from xacct.credentials import AssumedRole, AsyncCredentials
from xacct.local import LocalAws
from xacct.local.echo_server import EchoServer
from xacct.local.stacks import ApiStack, build_api

from helpers import REGION


@pytest.fixture(scope="module")
def stack(local_aws: LocalAws, echo: EchoServer, new_account: Callable[[], str]) -> ApiStack:
    return build_api(local_aws, new_account(), new_account(), echo.url)


def static_auth(stack: ApiStack) -> HttpxIamAuth:
    creds = stack.invoke_credentials()
    return HttpxIamAuth(Credentials(creds["key"], creds["secret"], creds["token"]), REGION)


def test_a_plain_httpx_client_reaches_the_api(local_aws: LocalAws, stack: ApiStack) -> None:
    with httpx.Client(auth=static_auth(stack), headers={"Host": stack.host}, timeout=30) as client:
        response = client.put(
            f"{local_aws.endpoint_url}/hoge",
            params={"q": "a b+c", "k": ["2", "1"], "empty": ""},
            json={"foo": "bar"},
            headers={"X-Team": "orders"},
        )
    assert response.status_code == 200, response.text
    echo = response.json()
    assert echo["body"] == '{"foo":"bar"}'
    assert sorted(map(tuple, echo["query"])) == [("empty", ""), ("k", "1"), ("k", "2"), ("q", "a b+c")]
    assert echo["headers"]["x-team"] == "orders"
    assert "x-team" in echo["headers"]["authorization"]  # caller-chosen headers are signed


def test_a_plain_httpx_async_client_reaches_the_api(local_aws: LocalAws, stack: ApiStack) -> None:
    async def main() -> list[httpx.Response]:
        async with httpx.AsyncClient(auth=static_auth(stack), headers={"Host": stack.host}, timeout=30) as client:
            return list(
                await asyncio.gather(
                    *(client.post(f"{local_aws.endpoint_url}/items/{n}", content=f"n={n}".encode()) for n in range(20))
                )
            )

    responses = asyncio.run(main())
    assert [r.status_code for r in responses] == [200] * 20
    assert [r.json()["body"] for r in responses] == [f"n={n}" for n in range(20)]


def test_a_streamed_body_is_signed_and_sent_as_signed(local_aws: LocalAws, stack: ApiStack) -> None:
    """A generator has no length up front: it is read once, signed, and sent with its Content-Length (not chunked)."""

    def chunks() -> Iterator[bytes]:
        yield b"first,"
        yield "ünïcödé,".encode()
        yield b"last"

    async def achunks() -> AsyncIterator[bytes]:
        for chunk in chunks():
            yield chunk

    with httpx.Client(auth=static_auth(stack), headers={"Host": stack.host}, timeout=30) as client:
        response = client.put(f"{local_aws.endpoint_url}/stream", content=chunks())

    async def main() -> httpx.Response:
        async with httpx.AsyncClient(auth=static_auth(stack), headers={"Host": stack.host}, timeout=30) as client:
            return await client.put(f"{local_aws.endpoint_url}/stream", content=achunks())

    for answer in (response, asyncio.run(main())):
        assert answer.status_code == 200, answer.text
        echo = answer.json()
        assert echo["body"] == "first,ünïcödé,last"
        assert echo["headers"]["content-length"] == str(len("first,ünïcödé,last".encode()))
        assert "transfer-encoding" not in echo["headers"]


def test_a_multipart_upload_is_signed(local_aws: LocalAws, stack: ApiStack) -> None:
    with httpx.Client(auth=static_auth(stack), headers={"Host": stack.host}, timeout=30) as client:
        response = client.post(
            f"{local_aws.endpoint_url}/upload",
            data={"name": "report"},
            files={"file": ("report.csv", b"a,b\n1,2\n", "text/csv")},
        )
    assert response.status_code == 200, response.text
    echo = response.json()
    assert echo["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert 'name="file"; filename="report.csv"' in echo["body"]
    assert "a,b\n1,2\n" in echo["body"]


def test_a_stream_the_client_cannot_read_up_front_is_a_config_error(local_aws: LocalAws, stack: ApiStack) -> None:
    """httpx.AsyncClient cannot read a sync iterator (nor httpx.Client an async one) before sending: a typed error
    saying what to pass, before anything is signed or sent."""
    sent: list[httpx.Request] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request)

    async def main() -> None:
        hooks = {"request": [record]}
        auth = static_auth(stack)
        async with httpx.AsyncClient(auth=auth, headers={"Host": stack.host}, event_hooks=hooks) as client:
            await client.put(f"{local_aws.endpoint_url}/stream", content=iter([b"sync", b"chunks"]))

    with pytest.raises(ConfigError) as error:
        asyncio.run(main())
    assert str(error.value).startswith(f"cannot sign PUT {local_aws.endpoint_url}/stream: its body is a sync stream")
    assert "signs the body's hash up front" in str(error.value)
    assert sent == []


def test_a_body_changed_after_signing_is_refused(local_aws: LocalAws, stack: ApiStack) -> None:
    auth = static_auth(stack)
    request = httpx.Request("PUT", f"{local_aws.endpoint_url}/hoge", headers={"Host": stack.host}, content=b'{"n":1}')
    signed = next(auth.sync_auth_flow(request))
    tampered = httpx.Request("PUT", signed.url, headers=signed.headers, content=b'{"n":9}')
    with httpx.Client() as client:
        assert client.send(signed).status_code == 200
        response = client.send(tampered)
    assert response.status_code == 403, response.text  # the echo server would have answered 200
    assert response.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert response.json()["message"].startswith("The request signature we calculated does not match")


def test_plain_http_elsewhere_is_refused_before_signing() -> None:
    auth = HttpxIamAuth(Credentials("AKIDEXAMPLE", "secret"), REGION)
    request = httpx.Request("GET", "http://api.example.com/hoge")
    with pytest.raises(InsecureTransport):
        next(auth.sync_auth_flow(request))
    assert "authorization" not in request.headers


# -- one refreshing credential source for every task -----------------------------------------------------------


def test_many_tasks_one_assume_role_off_the_event_loop(local_aws: LocalAws, stack: ApiStack) -> None:
    """200 tasks ask fresh role credentials at once: one sts:AssumeRole, run in a worker thread, all get the same
    session; with the same credentials in HttpxIamAuth, 100 concurrent calls go out signed."""
    source = stack.workload()
    threads: list[int] = []
    source.events.register("before-call.sts.AssumeRole", lambda **_: threads.append(threading.get_ident()))
    role = AssumedRole(stack.invoke_role_arn, region=REGION, source_session=source)
    shared = AsyncCredentials(role.credentials)
    before = len(local_aws.assume_role_records)

    async def main() -> tuple[int, list[str], list[int]]:
        loop_thread = threading.get_ident()
        keys = [c.access_key for c in await asyncio.gather(*(shared.frozen() for _ in range(200)))]
        auth = HttpxIamAuth(role.credentials, REGION)
        async with httpx.AsyncClient(auth=auth, headers={"Host": stack.host}, timeout=30) as client:
            answers = await asyncio.gather(*(client.get(f"{local_aws.endpoint_url}/hoge") for _ in range(100)))
        return loop_thread, keys, [a.status_code for a in answers]

    loop_thread, keys, statuses = asyncio.run(main())
    calls = [r for r in local_aws.assume_role_records[before:] if r.role_arn == stack.invoke_role_arn]
    assert len(calls) == 1
    assert role.credentials.refresh_count == 1
    assert len(set(keys)) == 1
    assert statuses == [200] * 100
    assert len(threads) == 1
    assert threads[0] != loop_thread  # botocore's synchronous refresh ran in a worker thread
