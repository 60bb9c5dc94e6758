"""Evidence photos over HTTP: multipart and base64 uploads, type checks by content, size limits, dedupe, download."""
from __future__ import annotations

import base64
import http.client
import os
import uuid
from urllib.parse import urlparse

import pytest

from logistics.tickets import evidence

PNG = b"\x89PNG\r\n\x1a\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


def photo(magic: bytes = PNG, size: int = 2048) -> bytes:
    """Bytes that start like the image type and differ on every call (random body)."""
    return magic + os.urandom(size)


def webp(size: int = 2048) -> bytes:
    body = b"WEBPVP8 " + os.urandom(size)
    return b"RIFF" + len(body).to_bytes(4, "little") + body


@pytest.fixture()
def ticket(api, make_shipment) -> dict:
    number = make_shipment()["tracking_number"]
    response = api.post("/api/v1/tickets", json={"type": "claim", "tracking_number": number,
                                                 "idempotency_key": f"claim:{uuid.uuid4().hex}"})
    assert response.status_code == 201
    return response.json()


def upload(api, ticket_id: int, data: bytes, filename: str = "box.png", content_type: str = "image/png", **form):
    return api.post(f"/api/v1/tickets/{ticket_id}/evidence", files={"file": (filename, data, content_type)},
                    data=form or None)


def test_a_multipart_photo_is_stored_logged_and_served_back(api, ticket):
    data = photo()
    response = upload(api, ticket["id"], data, "破损外箱.png", actor="customer:demo-zhao")
    assert response.status_code == 201, response.text
    item = response.json()
    assert item["content_type"] == "image/png" and item["size"] == len(data) and item["filename"] == "破损外箱.png"
    assert item["ticket_id"] == ticket["id"] and len(item["sha256"]) == 64

    whole = api.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert [e["id"] for e in whole["evidence"]] == [item["id"]]
    line = whole["history"][-1]
    assert line["kind"] == "evidence_added" and line["actor"] == "customer:demo-zhao"
    assert line["data"]["evidence_id"] == item["id"] and line["data"]["sha256"] == item["sha256"]

    served = api.get(f"/api/v1/tickets/{ticket['id']}/evidence/{item['id']}")
    assert served.status_code == 200 and served.content == data
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    again = api.get(f"/api/v1/tickets/{ticket['id']}/evidence/{item['id']}",
                    headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304


def test_the_same_photo_twice_is_stored_once(api, ticket):
    data = photo(JPEG)
    first = upload(api, ticket["id"], data, "a.jpg", "image/jpeg")
    second = api.post(f"/api/v1/tickets/{ticket['id']}/evidence", json={
        "filename": "same-again.jpg", "content_type": "image/jpeg",
        "data_base64": base64.b64encode(data).decode()})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    whole = api.get(f"/api/v1/tickets/{ticket['id']}").json()
    assert len(whole["evidence"]) == 1
    assert [h["kind"] for h in whole["history"]].count("evidence_added") == 1


def test_base64_json_and_data_urls_are_accepted(api, ticket):
    plain = api.post(f"/api/v1/tickets/{ticket['id']}/evidence", json={
        "filename": "label.jpg", "data_base64": base64.b64encode(photo(JPEG)).decode()})
    assert plain.status_code == 201 and plain.json()["content_type"] == "image/jpeg"
    encoded = base64.encodebytes(webp()).decode()  # wrapped at 76 columns, as many encoders do
    url = api.post(f"/api/v1/tickets/{ticket['id']}/evidence", json={
        "filename": "c:\\Users\\me\\photo.webp", "data_base64": "data:image/webp;base64," + encoded})
    assert url.status_code == 201, url.text
    assert url.json()["content_type"] == "image/webp" and url.json()["filename"] == "photo.webp"


def test_the_bytes_decide_the_stored_type(api, ticket):
    response = upload(api, ticket["id"], photo(JPEG), "renamed.png", "image/png")
    assert response.status_code == 201 and response.json()["content_type"] == "image/jpeg"
    generic = upload(api, ticket["id"], photo(PNG), "", "application/octet-stream")
    assert generic.status_code == 201
    assert generic.json()["content_type"] == "image/png" and generic.json()["filename"] == "evidence.png"


def test_photos_larger_than_the_api_body_limit_are_accepted_here(api, ticket):
    # The test app allows 64 KiB bodies elsewhere; evidence has its own limit.
    data = photo(size=300_000)
    response = upload(api, ticket["id"], data)
    assert response.status_code == 201, response.text
    assert api.get(f"/api/v1/tickets/{ticket['id']}/evidence/{response.json()['id']}").content == data
    other = api.post("/api/v1/customers", json={"phone": "13812345678", "name": "x" * 100_000})
    assert other.status_code == 413


def test_a_photo_of_exactly_the_limit_is_accepted(api, ticket):
    data = photo(JPEG, evidence.MAX_BYTES - len(JPEG))
    response = upload(api, ticket["id"], data, "full.jpg", "image/jpeg")
    assert response.status_code == 201, response.text
    assert response.json()["size"] == 8 * 1024 * 1024


def test_files_over_the_evidence_limit_are_413(api, ticket, monkeypatch):
    monkeypatch.setattr(evidence, "MAX_BYTES", 40_000)
    multipart = upload(api, ticket["id"], photo(size=45_000))
    as_json = api.post(f"/api/v1/tickets/{ticket['id']}/evidence", json={
        "filename": "big.png", "data_base64": base64.b64encode(photo(size=45_000)).decode()})
    for response in (multipart, as_json):
        assert response.status_code == 413, response.text
        assert response.json()["error"] == "payload_too_large"
    assert api.get(f"/api/v1/tickets/{ticket['id']}").json()["evidence"] == []


def test_a_declared_length_over_the_limit_is_refused_before_reading(backend_url, ticket, api):
    target = urlparse(backend_url)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=10)
    try:
        connection.putrequest("POST", f"/api/v1/tickets/{ticket['id']}/evidence")
        connection.putheader("Authorization", api.session.headers["Authorization"])
        connection.putheader("Content-Type", "multipart/form-data; boundary=x")
        connection.putheader("Content-Length", str(20 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert b"payload_too_large" in response.read()
    finally:
        connection.close()


def test_evidence_of_another_ticket_is_not_served(api, ticket, make_shipment):
    item = upload(api, ticket["id"], photo()).json()
    number = make_shipment()["tracking_number"]
    other = api.post("/api/v1/tickets", json={"type": "urge", "tracking_number": number,
                                              "idempotency_key": f"urge:{uuid.uuid4().hex}"}).json()
    assert api.get(f"/api/v1/tickets/{other['id']}/evidence/{item['id']}").status_code == 404


def test_a_closed_ticket_takes_no_new_photos(api, ticket):
    kept = photo()
    assert upload(api, ticket["id"], kept).status_code == 201
    for status in ("resolved", "closed"):
        api.request("PATCH", f"/api/v1/tickets/{ticket['id']}", json={"status": status})
    response = upload(api, ticket["id"], photo())
    assert response.status_code == 409 and response.json()["error"] == "conflict"
    assert upload(api, ticket["id"], kept).status_code == 200  # a retry of an earlier upload still answers


BAD_UPLOADS = [
    ("text file", {"files": {"file": ("notes.txt", b"hello, this is not a photo", "text/plain")}}, 415),
    ("pdf declared", {"files": {"file": ("a.pdf", PNG + b"x" * 100, "application/pdf")}}, 415),
    ("png declared, html inside", {"files": {"file": ("x.png", b"<html><script>1</script>", "image/png")}}, 415),
    ("gif", {"files": {"file": ("a.gif", b"GIF89a" + b"\x00" * 100, "image/gif")}}, 415),
    ("empty file", {"files": {"file": ("empty.png", b"", "image/png")}}, 400),
    ("no file field", {"files": {"photo": ("a.png", PNG + b"x" * 100, "image/png")}}, 400),
    ("bad base64", {"json": {"filename": "a.png", "data_base64": "!!!not base64!!!"}}, 400),
    ("base64 with bad padding", {"json": {"filename": "a.png", "data_base64": "iVBORw0KGgo"}}, 400),
    ("empty base64", {"json": {"filename": "a.png", "data_base64": ""}}, 400),
    ("base64 of text", {"json": {"filename": "a.png", "data_base64": base64.b64encode(b"plain text").decode()}},
     415),
    ("JSON without data", {"json": {"filename": "a.png"}}, 422),
    ("JSON without filename", {"json": {"data_base64": base64.b64encode(PNG).decode()}}, 422),
    ("raw image body", {"data": PNG + b"x" * 100, "headers": {"Content-Type": "image/png"}}, 415),
    ("no body", {}, 415),
    ("malformed JSON", {"data": "{filename", "headers": {"Content-Type": "application/json"}}, 400),
]


@pytest.mark.parametrize("label,kwargs,status", BAD_UPLOADS, ids=[b[0] for b in BAD_UPLOADS])
def test_bad_uploads_get_a_readable_4xx(api, ticket, label, kwargs, status):
    response = api.post(f"/api/v1/tickets/{ticket['id']}/evidence", **kwargs)
    assert response.status_code == status, response.text
    assert set(response.json()) >= {"error", "message"} and response.json()["message"]
    assert api.get(f"/api/v1/tickets/{ticket['id']}").json()["evidence"] == []


def test_unknown_ticket_or_evidence_is_404(api, ticket):
    assert upload(api, 99_999_999, photo()).status_code == 404
    assert api.get(f"/api/v1/tickets/{ticket['id']}/evidence/99999999").status_code == 404
    assert api.get("/api/v1/tickets/99999999/evidence/1").status_code == 404
