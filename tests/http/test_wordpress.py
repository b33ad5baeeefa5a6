"""WordPress on foyer, for real: Debian's wordpress package (6.1) on a
private MariaDB and a private php-fpm8.2 pool (see wordpress.py), served by
foyer as a WordPress site is configured (front_controller = /index.php),
driven with python3-requests as a browser and a REST client would.

The steps build on each other, so they are module fixtures, each checked
by a test: the installer, a login, pretty permalinks, an application
password; then a post, a media upload, the home page and a 404.

One MariaDB and one php-fpm pool serve the whole module; each mode (-X and
the three MPMs) gets its own foyer, its own copy of WordPress and its own
database, installed from scratch. All four take about 15 seconds.
"""

import datetime
import os
import re
import shutil
import struct
import tempfile
import zlib
from pathlib import Path

import pytest
import requests

from wordpress import MariaDB, WordPress, WordPressFpm, install_form, missing

TITLE = "foyer test blog"
ADMIN = "admin"
ADMIN_PASSWORD = "correct horse battery staple 7"
POST_TITLE = "Served by foyer"
TIMEOUT = 60


@pytest.fixture(scope="module")
def wp_dir():
    """A directory for MariaDB, php-fpm and the WordPress copies that
    www-data can reach. Not under pytest's temp directory: every pytest
    that starts on the machine takes others' access to that back
    (mode 0700), and php-fpm runs as www-data under root."""
    d = Path(tempfile.mkdtemp(prefix="foyer-wordpress-"))
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def mariadb(wp_dir):
    why = missing()
    assert why is None, why + " (scripts/deps.sh test installs them)"
    db = MariaDB(wp_dir / "mariadb").start()
    yield db
    db.stop()


@pytest.fixture(scope="module")
def wp_fpm(wp_dir):
    f = WordPressFpm(wp_dir / "fpm").start()
    yield f
    f.stop()


@pytest.fixture(scope="module")
def site(make_module_server, mariadb, wp_fpm, mode, wp_dir):
    """foyer serving a fresh, not yet installed copy of WordPress."""
    wp = WordPress(wp_dir / f"www-{mode}", mariadb, db_name=f"wp_{mode}").create()
    srv = make_module_server(
        sites=[("wordpress", {"document_root": str(wp.root),
                              "index": "index.php index.html",
                              "front_controller": "/index.php",
                              "php": "fpm:wordpress"})],
        extra=wp_fpm.pool())
    srv.wp = wp
    return srv


def url(srv, path):
    return srv.url(path)


def get(client, srv, path, **kw):
    """client: requests or a requests.Session."""
    kw.setdefault("timeout", TIMEOUT)
    return client.get(url(srv, path), **kw)


@pytest.fixture(scope="module")
def before_install(site):
    """The home page of a WordPress without tables, not followed."""
    return requests.get(url(site, "/"), allow_redirects=False, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def installed(site, before_install):
    """The installer's pages, as a browser goes through them: step 0 (GET),
    step 1 (the language chosen: English) and step 2 (the site's details)."""
    first = requests.get(url(site, "/wp-admin/install.php"), timeout=TIMEOUT)
    details = requests.post(url(site, "/wp-admin/install.php?step=1"),
                            data={"language": ""}, timeout=TIMEOUT)
    done = requests.post(url(site, "/wp-admin/install.php?step=2"),
                         data=install_form(TITLE, ADMIN, ADMIN_PASSWORD,
                                           "admin@example.org"),
                         timeout=TIMEOUT)
    return first, details, done


@pytest.fixture(scope="module")
def admin(site, installed):
    """A requests.Session logged in through wp-login.php, and the response
    to the login POST (not followed)."""
    s = requests.Session()
    form = get(s, site, "/wp-login.php")
    assert form.status_code == 200, form.status_code
    resp = s.post(url(site, "/wp-login.php"), allow_redirects=False,
                  timeout=TIMEOUT, data={
                      "log": ADMIN, "pwd": ADMIN_PASSWORD,
                      "wp-submit": "Log In", "testcookie": "1",
                      "redirect_to": url(site, "/wp-admin/")})
    s.login_response = resp
    return s


def rest_nonce(session, srv):
    """The REST nonce of a logged-in session (what wp-admin's scripts get)."""
    r = get(session, srv, "/wp-admin/admin-ajax.php?action=rest-nonce")
    assert r.status_code == 200 and re.fullmatch(r"[0-9a-f]{10}", r.text), \
        (r.status_code, r.text[:200])
    return r.text


def form_field(html, name):
    """The value of the first input called name in an HTML page."""
    m = re.search(r'<input[^>]*name="' + re.escape(name) + r'"[^>]*value="([^"]*)"',
                  html) or re.search(r'<input[^>]*value="([^"]*)"[^>]*name="'
                                     + re.escape(name) + '"', html)
    assert m, f"no input {name} in the page"
    return m.group(1)


# What the installer picks when pretty URLs work (it tries them), and what
# the permalink form changes it to.
INSTALL_PERMALINKS = "/%year%/%monthnum%/%day%/%postname%/"
PERMALINKS = "/%year%/%monthnum%/%postname%/"


@pytest.fixture(scope="module")
def pretty(site, admin):
    """Pretty permalinks set through wp-admin's form (with its nonce);
    returns the response to the POST (not followed) and the page it sends
    to."""
    page = get(admin, site, "/wp-admin/options-permalink.php")
    assert page.status_code == 200, page.status_code
    resp = admin.post(url(site, "/wp-admin/options-permalink.php"),
                      allow_redirects=False, timeout=TIMEOUT, data={
                          "_wpnonce": form_field(page.text, "_wpnonce"),
                          "_wp_http_referer": "/wp-admin/options-permalink.php",
                          "selection": "custom",
                          "permalink_structure": PERMALINKS,
                          "category_base": "", "tag_base": "",
                          "submit": "Save Changes"})
    after = admin.get(resp.headers.get("Location", url(site, "/wp-admin/")),
                      timeout=TIMEOUT)
    return resp, after


@pytest.fixture(scope="module")
def app_auth(site, admin, pretty):
    """(user, application password) created through the REST API with the
    login cookie and a nonce, as wp-admin's profile page does."""
    r = admin.post(url(site, "/wp-json/wp/v2/users/me/application-passwords"),
                   headers={"X-WP-Nonce": rest_nonce(admin, site)},
                   json={"name": "foyer tests"}, timeout=TIMEOUT)
    assert r.status_code == 201, (r.status_code, r.text[:500])
    return ADMIN, r.json()["password"]


@pytest.fixture(scope="module")
def post(site, app_auth):
    """A published post created through the REST API with the application
    password (HTTP Basic)."""
    r = requests.post(url(site, "/wp-json/wp/v2/posts"), auth=app_auth,
                      timeout=TIMEOUT, json={
                          "title": POST_TITLE, "status": "publish",
                          "content": "<p>A post written over the REST API.</p>"})
    assert r.status_code == 201, (r.status_code, r.text[:500])
    return r.json()


def option(srv, name):
    """A WordPress option, read from the database."""
    return srv.wp.db.sql(
        f"SELECT option_value FROM wp_options WHERE option_name = '{name}'",
        database=srv.wp.db_name).strip()


def png(width, height, seed):
    """A small RGB PNG whose pixels depend on seed."""
    rows = b"".join(b"\0" + bytes((x * seed + y * 7) % 256
                                  for x in range(width * 3))
                    for y in range(height))

    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


# --- the installer ---------------------------------------------------------


def test_before_install_wordpress_sends_to_its_installer(before_install):
    r = before_install
    assert r.status_code == 302, (r.status_code, r.text[:500])
    assert r.headers["Location"].endswith("/wp-admin/install.php")


def test_install_wizard_finishes(site, installed):
    first, details, done = installed
    assert first.status_code == 200
    assert "<title>WordPress &rsaquo; Installation</title>" in first.text
    assert details.status_code == 200
    assert "<h2>Information needed</h2>" in details.text
    assert 'name="weblog_title"' in details.text
    assert done.status_code == 200, done.text[:1000]
    assert "<h1>Success!</h1>" in done.text, done.text[:2000]
    assert "WordPress has been installed." in done.text
    # its tables are there, in the private database
    tables = site.wp.db.sql("SHOW TABLES", database=site.wp.db_name).split()
    assert {"wp_posts", "wp_options", "wp_users"} <= set(tables)
    assert option(site, "siteurl") == f"http://127.0.0.1:{site.port}"


def test_installer_finds_pretty_urls_work(site, installed):
    # While it installs, WordPress asks the server for its first post at a
    # pretty URL (a request from PHP back to foyer, through the front
    # controller) and keeps pretty permalinks only if that answers.
    assert option(site, "permalink_structure") == INSTALL_PERMALINKS
    assert re.search(r'"GET /\d{4}/\d{2}/\d{2}/hello-world/ HTTP/1\.1" 200 .*'
                     r'"WordPress/6\.1', site.access_log())


# --- logging in ------------------------------------------------------------


def test_login_sets_cookies_and_redirects_to_wp_admin(site, admin):
    r = admin.login_response
    assert r.status_code == 302, (r.status_code, r.text[:1000])
    assert r.headers["Location"] == url(site, "/wp-admin/")
    names = {c.name for c in admin.cookies}
    assert any(n.startswith("wordpress_logged_in_") for n in names), names
    assert any(re.fullmatch(r"wordpress_[0-9a-f]{32}", n) for n in names), names
    dash = get(admin, site, "/wp-admin/", allow_redirects=False)
    assert dash.status_code == 200
    assert "<title>Dashboard" in dash.text


def test_wrong_password_is_refused(site, installed):
    s = requests.Session()
    get(s, site, "/wp-login.php")
    r = s.post(url(site, "/wp-login.php"), allow_redirects=False,
               timeout=TIMEOUT, data={"log": ADMIN, "pwd": "not it",
                                      "testcookie": "1"})
    assert r.status_code == 200
    assert "login_error" in r.text
    assert not any(c.name.startswith("wordpress_logged_in_") for c in s.cookies)


def test_wp_admin_without_login_goes_to_wp_login(site, installed):
    r = requests.get(url(site, "/wp-admin/"), allow_redirects=False,
                     timeout=TIMEOUT)
    assert r.status_code == 302
    assert "/wp-login.php?redirect_to=" in r.headers["Location"]


# --- permalinks, posts, REST -----------------------------------------------


def test_pretty_permalinks_saved_through_the_form(site, pretty):
    resp, after = pretty
    assert resp.status_code == 302, (resp.status_code, resp.text[:1000])
    assert resp.headers["Location"] == url(
        site, "/wp-admin/options-permalink.php?settings-updated=true")
    assert after.status_code == 200
    # the notice (its words depend on whether WordPress could write an
    # .htaccess, which foyer does not read)
    assert "id='setting-error-settings_updated'" in after.text
    assert form_field(after.text, "permalink_structure") == PERMALINKS
    assert option(site, "permalink_structure") == PERMALINKS


def test_rest_api_at_its_pretty_url(site, pretty):
    r = requests.get(url(site, "/wp-json/"), timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json()["name"] == TITLE


def test_application_password_reaches_php_through_authorization(site, app_auth):
    r = requests.get(url(site, "/wp-json/wp/v2/users/me?context=edit"),
                     auth=app_auth, timeout=TIMEOUT)
    assert r.status_code == 200, (r.status_code, r.text[:500])
    assert r.json()["username"] == ADMIN
    bad = requests.get(url(site, "/wp-json/wp/v2/users/me"),
                       auth=(ADMIN, "aaaa bbbb cccc dddd eeee ffff"),
                       timeout=TIMEOUT)
    assert bad.status_code == 401
    assert "username" not in bad.json()


def test_post_at_its_pretty_permalink(site, post):
    link = post["link"]
    day = datetime.date.fromisoformat(post["date"][:10])
    path = day.strftime("/%Y/%m/") + post["slug"] + "/"
    assert post["slug"] == "served-by-foyer"
    assert link == url(site, path)
    r = requests.get(link, allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200, r.status_code
    assert f"<title>{POST_TITLE} &#8211; {TITLE}</title>" in r.text
    assert "A post written over the REST API." in r.text


def test_home_page_lists_the_post(site, post):
    r = requests.get(url(site, "/"), allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=UTF-8"
    assert f'href="{post["link"]}"' in r.text
    assert POST_TITLE in r.text
    # and its feed, a pretty URL with no file behind it
    feed = requests.get(url(site, "/feed/"), timeout=TIMEOUT)
    assert feed.status_code == 200
    assert feed.headers["Content-Type"].startswith("application/rss+xml")
    assert f"<title>{POST_TITLE}</title>" in feed.text


def test_missing_pretty_url_is_wordpress_404(site, post):
    r = requests.get(url(site, "/2020/01/no-such-post/"),
                     allow_redirects=False, timeout=TIMEOUT)
    assert r.status_code == 404
    # WordPress's 404 template, not foyer's page: the theme's body class
    # and the site's title
    assert re.search(r'<body class="[^"]*\berror404\b', r.text), r.text[:2000]
    assert f"Page not found &#8211; {TITLE}" in r.text


# --- media -----------------------------------------------------------------


def test_media_upload_then_served_as_a_static_file(site, app_auth):
    data = png(64, 48, seed=os.getpid() % 251 + 3)
    r = requests.post(url(site, "/wp-json/wp/v2/media"), auth=app_auth,
                      timeout=TIMEOUT, data=data, headers={
                          "Content-Type": "image/png",
                          "Content-Disposition": 'attachment; filename="foyer-pixel.png"'})
    assert r.status_code == 201, (r.status_code, r.text[:1000])
    media = r.json()
    assert media["mime_type"] == "image/png"
    src = media["source_url"]
    assert re.fullmatch(re.escape(url(site, "/wp-content/uploads/"))
                        + r"\d{4}/\d{2}/foyer-pixel(-\d+)?\.png", src), src
    # on disk, written by PHP as the pool's user
    on_disk = site.wp.root / src[len(url(site, "/")):]
    assert on_disk.read_bytes() == data
    got = requests.get(src, timeout=TIMEOUT)
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["Content-Type"] == "image/png"
    # served by foyer from the disk, not by PHP: a static file's validators
    assert got.headers.get("ETag")
    assert got.headers.get("Last-Modified")
    assert "X-Powered-By" not in got.headers
