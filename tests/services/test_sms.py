import logging
import socket

import pytest

from config import ConfigError
from feedback.services.sms import (
    HttpSmsGateway,
    LogSmsGateway,
    SmsDeliveryFailed,
    gateway_for,
    gateway_from_config,
    otp_message,
)
from tests.sms_gateway_server import running_gateway

MESSAGE = otp_message("482913", 300)


@pytest.fixture(autouse=True)
def no_proxy_for_the_local_gateway(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy",
                 "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def test_the_sign_in_message_is_vietnamese_holds_the_code_and_fits_one_unicode_sms():
    assert MESSAGE == ("Mã xác thực Phản ánh của bạn là 482913. "
                       "Mã có hiệu lực trong 5 phút.")
    assert len(MESSAGE) <= 70


def test_a_lifetime_under_a_minute_is_told_in_seconds():
    assert otp_message("000001", 45).endswith("trong 45 giây.")


def test_the_log_gateway_writes_the_whole_message_to_the_feedback_sms_log(caplog):
    with caplog.at_level(logging.INFO, logger="feedback.sms"):
        LogSmsGateway().send("+84912345678", MESSAGE)
    [record] = [r for r in caplog.records if r.name == "feedback.sms"]
    assert "+84912345678" in record.getMessage()
    assert "482913" in record.getMessage()


def test_the_http_gateway_posts_exactly_to_and_text_as_json():
    with running_gateway() as gateway:
        HttpSmsGateway(gateway.url, timeout=5).send("+84912345678", MESSAGE)
    [message] = gateway.received
    assert message.path == "/sms"
    assert message.body == {"to": "+84912345678", "text": MESSAGE}
    assert "482913" in message.body["text"]
    assert message.headers["Content-Type"].startswith("application/json")
    assert "Authorization" not in message.headers


def test_the_http_gateway_sends_its_token_as_a_bearer_header():
    with running_gateway() as gateway:
        HttpSmsGateway(gateway.url, timeout=5, token="s3cret").send("+84912345678", MESSAGE)
    assert gateway.received[0].headers["Authorization"] == "Bearer s3cret"


@pytest.mark.parametrize("status", [400, 401, 500, 503])
def test_a_gateway_answering_an_error_raises_sms_delivery_failed_without_the_code(status):
    with running_gateway() as gateway:
        gateway.status = status
        with pytest.raises(SmsDeliveryFailed) as failure:
            HttpSmsGateway(gateway.url, timeout=5).send("+84912345678", MESSAGE)
    assert str(status) in str(failure.value)
    assert "482913" not in str(failure.value)


def test_a_gateway_that_answers_with_a_redirect_has_not_sent_anything():
    with running_gateway() as gateway:
        gateway.redirect_to = gateway.url + "/elsewhere"
        with pytest.raises(SmsDeliveryFailed, match="307"):
            HttpSmsGateway(gateway.url, timeout=5).send("+84912345678", MESSAGE)
    assert len(gateway.received) == 1


def test_a_gateway_slower_than_the_timeout_raises_sms_delivery_failed():
    with running_gateway() as gateway:
        gateway.delay_seconds = 5
        with pytest.raises(SmsDeliveryFailed, match="did not answer within 0.3 s"):
            HttpSmsGateway(gateway.url, timeout=0.3).send("+84912345678", MESSAGE)


def test_a_gateway_nobody_listens_on_raises_sms_delivery_failed():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(SmsDeliveryFailed, match="cannot reach"):
        HttpSmsGateway(f"http://127.0.0.1:{port}/sms", timeout=2).send("+84912345678", MESSAGE)


def test_a_gateway_url_that_is_not_http_is_refused_at_start():
    with pytest.raises(ValueError):
        HttpSmsGateway("file:///etc/passwd", timeout=1)


def test_the_gateway_url_in_config_chooses_http_and_its_absence_the_log():
    http = gateway_from_config({"SMS_GATEWAY_URL": "https://sms.example.vn/send",
                                "SMS_GATEWAY_TIMEOUT": 4, "SMS_GATEWAY_TOKEN": "t"})
    assert isinstance(http, HttpSmsGateway)
    assert (http.url, http.timeout, http.token) == ("https://sms.example.vn/send", 4.0, "t")
    assert isinstance(gateway_from_config({"SMS_GATEWAY_URL": None}), LogSmsGateway)


def test_production_refuses_to_write_sign_in_codes_to_the_log():
    with pytest.raises(ConfigError, match="SMS_GATEWAY_URL"):
        gateway_from_config({"ENVIRONMENT": "production", "SMS_GATEWAY_URL": None})


def test_the_app_without_a_gateway_url_uses_the_log_gateway(app):
    assert isinstance(gateway_for(app), LogSmsGateway)
