import pytest


@pytest.mark.embedded
def test_an_unknown_api_path_answers_the_json_error_shape(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json["code"] == "not_found"
    assert set(response.json) == {"code", "message", "details"}


def test_a_wrong_method_answers_405_in_the_json_error_shape(client):
    response = client.delete("/api/v1/auth/login")
    assert response.status_code == 405
    assert response.json["code"] == "method_not_allowed"


def test_a_body_that_is_not_json_is_a_clean_4xx(client):
    response = client.post("/api/v1/auth/login", data="{not json",
                           content_type="application/json")
    assert 400 <= response.status_code < 500
    assert "code" in response.json and "message" in response.json


def test_unexpected_fields_are_named_in_the_details(client):
    response = client.post("/api/v1/auth/login",
                           json={"username": "a", "password": "b", "role": "admin"})
    assert response.status_code == 422
    assert response.json["details"] == {"role": ["Unknown field."]}


def test_a_web_page_that_does_not_exist_is_not_answered_in_json(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.content_type.startswith("text/html")
