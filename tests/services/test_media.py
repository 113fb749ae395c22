"""Fetching Open311's media_url: public addresses only (no server-side request forgery),
a size limit and a time limit, redirects checked hop by hop. Servers run on 127.0.0.1."""
import time

import pytest

from feedback.services import media
from feedback.services.media import MediaRefused, address_problem, fetch_media
from tests.http_servers import body, redirect, serving

JPEG = b"\xff\xd8\xff\xe0" + b"0" * 5000 + b"\xff\xd9"


def fetch(url, **kwargs):
    kwargs.setdefault("max_bytes", 100_000)
    kwargs.setdefault("timeout", 5)
    return fetch_media(url, **kwargs)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/photo.jpg",
    "http://127.8.9.10:8080/photo.jpg",
    "http://10.1.2.3/photo.jpg",
    "http://172.16.0.5/photo.jpg",
    "http://192.168.1.1/photo.jpg",
    "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
    "http://100.64.0.1/photo.jpg",  # carrier-grade NAT
    "http://0.0.0.0/photo.jpg",
    "http://224.0.0.1/photo.jpg",
    "http://[::1]/photo.jpg",
    "http://[fe80::1]/photo.jpg",
    "http://[fd00::1]/photo.jpg",
    "http://[::ffff:127.0.0.1]/photo.jpg",  # IPv4 inside IPv6
    "http://[64:ff9b::a01:203]/photo.jpg",  # 10.1.2.3 through NAT64
    "http://localhost/photo.jpg",  # a host name that resolves to loopback
])
def test_inside_addresses_are_refused_before_any_connection(url, monkeypatch):
    def no_connection(*args, **kwargs):
        raise AssertionError("connected")

    monkeypatch.setattr(media.socket, "create_connection", no_connection)
    with pytest.raises(MediaRefused) as refused:
        fetch(url)
    assert refused.value.code == "forbidden_address"


def test_a_name_is_refused_if_any_of_its_addresses_is_inside():
    def resolver(host, port):
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(MediaRefused, match="private"):
        fetch("http://media.example.vn/a.jpg", resolver=resolver)


@pytest.mark.parametrize("address", ["93.184.216.34", "14.225.0.1", "2001:4860:4860::8888"])
def test_public_addresses_pass_the_check(address):
    assert address_problem(address, allow_private=False) is None


@pytest.mark.parametrize("url, code", [
    ("ftp://example.vn/a.jpg", "invalid_url"),
    ("file:///etc/passwd", "invalid_url"),
    ("http://user:secret@example.vn/a.jpg", "invalid_url"),
    ("http:///a.jpg", "invalid_url"),
    ("http://example.vn:99999/a.jpg", "invalid_url"),
    ("http://" + "a" * 2001 + ".vn/", "invalid_url"),
])
def test_only_plain_http_and_https_urls_are_fetched(url, code):
    with pytest.raises(MediaRefused) as refused:
        fetch(url)
    assert refused.value.code == code


def test_a_deployment_may_allow_its_own_network_and_the_body_comes_back():
    with serving({"/a.jpg": body(JPEG)}) as base:
        assert fetch(f"{base}/a.jpg", allow_private=True) == JPEG
        with pytest.raises(MediaRefused, match="loopback"):
            fetch(f"{base}/a.jpg", allow_private=False)


def test_multicast_stays_refused_even_when_private_addresses_are_allowed():
    assert address_problem("224.0.0.1", allow_private=True)
    assert address_problem("0.0.0.0", allow_private=True)
    assert address_problem("10.0.0.1", allow_private=True) is None


def test_a_redirect_to_an_inside_address_is_refused(monkeypatch):
    """The first hop is let through (as if public); where it redirects is checked again."""
    checked = []

    def only_the_first_server(address, *, allow_private):
        checked.append(address)
        return None if address == "127.0.0.1" else "a private address"

    monkeypatch.setattr(media, "address_problem", only_the_first_server)
    with serving({"/to-metadata": redirect("http://169.254.169.254/latest/"),
                  "/to-inside": redirect("http://10.0.0.1/a.jpg"),
                  "/a.jpg": body(JPEG)}) as base:
        with pytest.raises(MediaRefused, match="private"):
            fetch(f"{base}/to-metadata")
        with pytest.raises(MediaRefused, match="private"):
            fetch(f"{base}/to-inside")
        # A redirect to a public place is followed.
        with serving({"/hop": redirect(f"{base}/a.jpg")}) as other:
            assert fetch(f"{other}/hop") == JPEG
    assert "169.254.169.254" in checked and "10.0.0.1" in checked


def test_redirects_are_followed_a_few_times_at_most():
    with serving({"/loop": redirect("/loop")}) as base, pytest.raises(MediaRefused) as refused:
        fetch(f"{base}/loop", allow_private=True)
    assert refused.value.code == "too_many_redirects"


def test_a_body_over_the_size_limit_is_refused_declared_or_not():
    big = b"x" * 20_000
    with serving({"/declared": body(big), "/streamed": body(big, length=False)}) as base:
        for path in ("/declared", "/streamed"):
            with pytest.raises(MediaRefused) as refused:
                fetch(f"{base}{path}", allow_private=True, max_bytes=10_000)
            assert refused.value.code == "too_large"


def test_a_slow_server_is_given_up_within_the_time_limit():
    def slow_headers(request):
        time.sleep(3)
        body(JPEG)(request)

    def drip(request):
        request.send_response(200)
        request.end_headers()
        for _ in range(30):
            request.wfile.write(b"x")
            request.wfile.flush()
            time.sleep(0.1)

    with serving({"/slow": slow_headers, "/drip": drip}) as base:
        for path in ("/slow", "/drip"):
            started = time.monotonic()
            with pytest.raises(MediaRefused) as refused:
                fetch(f"{base}{path}", allow_private=True, timeout=1)
            assert refused.value.code == "timeout"
            assert time.monotonic() - started < 2


def test_an_error_status_is_refused():
    with serving({}) as base, pytest.raises(MediaRefused, match="404"):
        fetch(f"{base}/missing.jpg", allow_private=True)
