"""Every page of the web view renders for the roles it is for."""
import pytest

from tests import factories


PAGES = {
    "moderator": ["/staff/moderation/", "/staff/moderation/routing"],
    "officer": ["/staff/department/"],
    "supervisor": ["/staff/supervision/dashboard", "/staff/supervision/overdue",
                   "/staff/supervision/due-soon", "/staff/supervision/extensions",
                   "/staff/supervision/dashboard?period=week&by=category",
                   "/staff/supervision/dashboard?period=range&from=2026-01-01&to=2026-12-31&by=area"],
    "admin": ["/staff/admin/", "/staff/admin/departments", "/staff/admin/categories",
              "/staff/admin/rules", "/staff/admin/users", "/staff/admin/calendar",
              "/staff/moderation/", "/staff/supervision/dashboard"],
}


@pytest.mark.parametrize("username,url", [(u, url) for u, urls in PAGES.items() for url in urls])
def test_each_page_renders_for_its_role(staff_client, db_session, now, username, url):
    factories.report(db_session, now=now)
    assert staff_client(username).get(url).status_code == 200
