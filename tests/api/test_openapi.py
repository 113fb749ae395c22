import pytest


@pytest.mark.embedded
def test_the_openapi_document_lists_the_endpoints_and_the_bearer_scheme(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.0")
    assert {"/api/v1/auth/login", "/api/v1/auth/me", "/healthz",
            "/api/v1/departments/{code}/queue"} <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    login = spec["paths"]["/api/v1/auth/login"]["post"]
    assert "Sign a staff member in" in login["description"] + login.get("summary", "")


def test_the_docs_page_is_served_with_its_assets_from_the_package_not_a_cdn(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    assert client.get("/api/v1/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_the_home_page_is_in_vietnamese_and_links_the_docs(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'lang="vi"' in html and "/api/v1/docs" in html
    assert response.headers["X-Content-Type-Options"] == "nosniff"
