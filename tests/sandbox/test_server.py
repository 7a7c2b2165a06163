"""The HTTP surface itself: every way Telegram accepts parameters, and its error shapes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.sandbox import Sandbox
from tests.sandbox.conftest import TLS


@pytest.fixture
async def http(sandbox: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client on the sandbox's Bot API URL for this token."""
    async with httpx.AsyncClient(base_url=sandbox.base_url + sandbox.token, verify=TLS) as client:
        yield client


async def started(sandbox: Sandbox) -> int:
    alex = sandbox.user("Alex")
    await alex.start_private()
    return alex.id


async def test_json_body(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    chat_id = await started(sandbox)
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]}
    response = await http.post(
        "/sendMessage", json={"chat_id": chat_id, "text": "Ready?", "reply_markup": markup}
    )
    body = response.json()
    assert response.status_code == 200 and body["ok"] is True
    assert body["result"]["reply_markup"] == markup
    assert isinstance(body["result"]["date"], int)


async def test_query_string_and_get(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    chat_id = await started(sandbox)
    response = await http.get("/sendMessage", params={"chat_id": str(chat_id), "text": "hi"})
    assert response.json()["result"]["text"] == "hi"
    response = await http.get("/getMe")
    assert response.json()["result"]["username"] == "mend_sandbox_bot"


async def test_multipart_with_attach_reference(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    chat_id = await started(sandbox)
    response = await http.post(
        "/sendDocument",
        data={"chat_id": str(chat_id), "document": "attach://export"},
        files={"export": ("export.txt", b"journal", "text/plain")},
    )
    document = response.json()["result"]["document"]
    assert document["file_name"] == "export.txt" and document["mime_type"] == "text/plain"
    missing = await http.post(
        "/sendDocument",
        data={"chat_id": str(chat_id), "document": "attach://nothing"},
        files={"other": ("a.txt", b"x", "text/plain")},
    )
    assert missing.status_code == 400
    assert "names a file part that was not sent" in missing.json()["description"]


async def test_error_shapes(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    response = await http.post("/getUpdates", data={"limit": "lots"})
    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: invalid parameter limit: expected Integer, got String 'lots'",
    }
    response = await http.post(
        "/sendMessage", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert response.json()["description"] == "Bad Request: can't parse JSON body"
    elsewhere = await http.get(sandbox.url + "/nothing/here")
    assert elsewhere.status_code == 404 and elsewhere.json()["description"] == "Not Found"
    wrong = await http.get(sandbox.base_url + "123:wrong/getMe")
    assert wrong.status_code == 401 and wrong.json()["description"] == "Unauthorized"


async def test_method_names_ignore_case(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    response = await http.get("/GETME")
    assert response.json()["ok"] is True
    assert sandbox.calls[-1].method == "getMe"


async def test_file_downloads_need_the_token(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    chat_id = await started(sandbox)
    sent = await http.post(
        "/sendDocument",
        data={"chat_id": str(chat_id)},
        files={"document": ("notes.txt", b"private notes", "text/plain")},
    )
    file_id = sent.json()["result"]["document"]["file_id"]
    path = (await http.post("/getFile", data={"file_id": file_id})).json()["result"]["file_path"]
    download = await http.get(f"{sandbox.base_file_url}{sandbox.token}/{path}")
    assert download.content == b"private notes"
    stolen = await http.get(f"{sandbox.base_file_url}123:wrong/{path}")
    assert stolen.status_code == 401
    absent = await http.get(f"{sandbox.base_file_url}{sandbox.token}/documents/nothing.txt")
    assert absent.status_code == 404


async def test_call_log(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    await http.post("/sendMessage", data={"chat_id": "1", "text": "x"})
    call = sandbox.calls[-1]
    assert (call.method, call.ok, call.error_code) == ("sendMessage", False, 400)
    assert call.params == {"chat_id": 1, "text": "x"}
    assert call.description == "Bad Request: chat not found"
    assert str(call) == "sendMessage -> 400 Bad Request: chat not found"
    assert json.dumps(call.params)  # params are plain JSON values
