"""Users and roles without a server: the users file, the `assistant users` commands, who may do what, and
the refusal to serve an open corpus beyond this machine."""

from __future__ import annotations

import io
import json
import stat
from types import SimpleNamespace

import pytest

from assistant import AssistantError, Settings
from assistant.users import UsersFileError, add_user, check_password, read_users, remove_user
from ui import cli
from ui.access import Access, check_exposure
from ui.hosts import is_loopback

PASSWORD = "correct horse battery"


@pytest.fixture
def users_cli(tmp_path, monkeypatch, capsys):
    """``assistant users ...`` with ``--index`` in ``tmp_path``: (exit code, stdout, stderr), the password on stdin."""
    index = tmp_path / "index"

    def run(*args: str, stdin: str = "") -> SimpleNamespace:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = cli.main(["users", "--index", str(index), *args])
        out, err = capsys.readouterr()
        return SimpleNamespace(code=code, out=out, err=err)

    return SimpleNamespace(run=run, file=tmp_path / "users.json")


def test_users_add_list_remove_keep_only_salted_hashes_in_a_private_file(users_cli):
    added = users_cli.run("add", "aigerim", "--role", "editor", stdin=PASSWORD + "\n")
    assert added.code == 0 and "aigerim: editor" in added.out and PASSWORD not in added.out + added.err
    assert users_cli.run("add", "daniyar", "--role", "reader", stdin=PASSWORD + "\n").code == 0
    assert stat.S_IMODE(users_cli.file.stat().st_mode) == 0o600  # beside the index folder, for no one else

    stored = users_cli.file.read_text(encoding="utf-8")
    assert PASSWORD not in stored
    rows = json.loads(stored)["users"]
    assert [(row["name"], row["role"]) for row in rows] == [("aigerim", "editor"), ("daniyar", "reader")]
    hashes = [row["password_hash"] for row in rows]
    assert all(h.startswith("$argon2id$") for h in hashes) and hashes[0] != hashes[1]  # same password, own salt

    listed = users_cli.run("list")
    assert listed.code == 0 and listed.out.split("\n")[:2] == ["aigerim\teditor", "daniyar\treader"]
    assert "$argon2" not in listed.out + listed.err
    as_json = users_cli.run("list", "--json")
    assert [json.loads(line) for line in as_json.out.splitlines()][0] == {"name": "aigerim", "role": "editor"}

    removed = users_cli.run("remove", "daniyar")
    assert removed.code == 0 and "removed daniyar" in removed.out
    assert list(read_users(users_cli.file)) == ["aigerim"]
    assert stat.S_IMODE(users_cli.file.stat().st_mode) == 0o600
    again = users_cli.run("remove", "daniyar")
    assert again.code == 1 and again.err.startswith("assistant: error: no user 'daniyar'")


def test_a_password_is_never_taken_from_the_command_line(users_cli, capsys):
    with pytest.raises(SystemExit) as refused:
        cli.main(["users", "add", "aigerim", "--role", "editor", "--password", PASSWORD])
    assert refused.value.code == 2 and not users_cli.file.exists()
    capsys.readouterr()


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "a b", "--role", "editor"), PASSWORD, "a user name is 1 to 64 letters"),
        (("add", "aigerim", "--role", "editor"), "short", "a password needs 8 to 1024 characters"),
        (("add", "aigerim", "--role", "editor"), "", "a password needs 8"),
    ],
)
def test_users_add_refuses_a_bad_name_or_password_in_one_line(users_cli, args, stdin, message):
    result = users_cli.run(*args, stdin=stdin + "\n")
    assert result.code == 1 and result.err.startswith(f"assistant: error: {message}")
    assert len(result.err.strip().splitlines()) == 1 and not users_cli.file.exists()


def test_adding_a_user_twice_needs_replace(users_cli):
    assert users_cli.run("add", "aigerim", "--role", "reader", stdin=PASSWORD).code == 0
    twice = users_cli.run("add", "aigerim", "--role", "editor", stdin="another password")
    assert twice.code == 1 and "exists" in twice.err and read_users(users_cli.file)["aigerim"].role == "reader"
    assert users_cli.run("add", "aigerim", "--role", "editor", "--replace", stdin="another password").code == 0
    user = read_users(users_cli.file)["aigerim"]
    assert user.role == "editor" and check_password({"aigerim": user}, "aigerim", "another password") == user
    assert check_password({"aigerim": user}, "aigerim", PASSWORD) is None


def test_check_password_refuses_a_wrong_password_and_an_unknown_name(tmp_path):
    path = tmp_path / "users.json"
    user = add_user(path, "aigerim", "editor", PASSWORD)
    users = read_users(path)
    assert check_password(users, "aigerim", PASSWORD) == user
    assert check_password(users, "aigerim", PASSWORD + "!") is None
    assert check_password(users, "nobody", PASSWORD) is None
    assert check_password(users, "aigerim", "x" * 5000) is None
    assert "password_hash" not in repr(user) and "$argon2" not in repr(user)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"format": 2, "users": []}', "not a users file of format 1"),
        ('{"format": 1, "users": [{"name": "a", "role": "admin", "password_hash": "$argon2id$x"}]}', "unknown role"),
        ('{"format": 1, "users": [{"name": "a", "role": "editor", "password_hash": "plain"}]}', "no argon2 hash"),
        (
            '{"format": 1, "users": [{"name": "<b>", "role": "editor", "password_hash": "$argon2id$x"}]}',
            "bad user name",
        ),
    ],
)
def test_a_damaged_users_file_is_refused_naming_it(tmp_path, content, message):
    path = tmp_path / "users.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(UsersFileError, match=message) as raised:
        read_users(path)
    assert str(path) in str(raised.value)
    with pytest.raises(AssistantError, match=message):
        Access(Settings(users_file=path))  # the server does not start on it either


def test_without_users_anyone_may_edit_and_with_one_only_an_editor(tmp_path):
    settings = Settings(index_dir=tmp_path / "index")
    access = Access(settings)
    assert settings.users_path == tmp_path / "users.json"
    assert access.editing_open and access.role(None, {}) == "editor"

    add_user(settings.users_path, "daniyar", "reader", PASSWORD)
    assert not access.editing_open  # the file is read again once it changed
    assert access.role(None, {}) is None and access.role("", {}) is None
    assert access.role("daniyar", {}) == "reader" and access.role("nobody", {}) is None
    add_user(settings.users_path, "aigerim", "editor", PASSWORD)
    assert access.role("aigerim", {}) == "editor"
    remove_user(settings.users_path, "aigerim")
    assert access.role("aigerim", {}) is None  # removed: no role from that moment on


def test_a_signed_in_session_ends_when_its_user_is_removed(tmp_path):
    settings = Settings(index_dir=tmp_path / "index")
    add_user(settings.users_path, "aigerim", "editor", PASSWORD)
    add_user(settings.users_path, "daniyar", "reader", PASSWORD)
    access = Access(settings)
    assert access.sign_in("aigerim", "wrong password") is None
    token = access.sign_in("aigerim", PASSWORD)
    request = SimpleNamespace(
        cookies={access.cookie: token}, headers={}, url=SimpleNamespace(path="/gradio_api/upload")
    )
    assert access.identity(request) == "aigerim"
    remove_user(settings.users_path, "aigerim")
    assert access.signed_in(request) is None and access.identity(request) is None
    anonymous = SimpleNamespace(cookies={}, headers={}, url=SimpleNamespace(path="/"))
    assert access.identity(anonymous) == ""  # reading is open: an anonymous visitor reads


def test_reading_behind_a_login_needs_someone_to_log_in(tmp_path):
    with pytest.raises(AssistantError, match=r"ASSISTANT_READ_ACCESS=login.*assistant users add NAME"):
        Access(Settings(index_dir=tmp_path / "index", read_access="login"))
    with pytest.raises(AssistantError, match="read_access must be one of open, login"):
        Settings.from_env({"ASSISTANT_READ_ACCESS": "public"})


def test_proxy_mode_trusts_its_headers_only_when_named(tmp_path):
    plain = Access(Settings(index_dir=tmp_path / "index"))
    forged = SimpleNamespace(cookies={}, headers={"x-forwarded-user": "boss"}, url=SimpleNamespace(path="/"))
    assert plain.proxy is None and plain.signed_in(forged) is None
    settings = Settings.from_env(
        {
            "ASSISTANT_PROXY_USER_HEADER": "X-Forwarded-User",
            "ASSISTANT_PROXY_GROUPS_HEADER": "X-Forwarded-Groups",
            "ASSISTANT_PROXY_EDITOR_GROUPS": "kz-editors, press-office",
            "ASSISTANT_READ_ACCESS": "login",
        },
        index_dir=tmp_path / "index",
    )
    access = Access(settings)  # no users file needed: the proxy names the users
    assert not access.editing_open and access.signed_in(forged) == "boss"
    assert access.role("boss", {"x-forwarded-groups": "staff press-office"}) == "editor"
    assert access.role("boss", {"x-forwarded-groups": "staff"}) == "reader"
    assert access.role("", {"x-forwarded-groups": "kz-editors"}) is None
    nobody = SimpleNamespace(cookies={}, headers={}, url=SimpleNamespace(path="/"))
    assert access.identity(nobody) is None  # reading needs a login: the request is refused


def test_proxy_mode_beyond_loopback_starts_with_a_warning(tmp_path, caplog):
    access = Access(Settings(index_dir=tmp_path / "index", proxy_user_header="X-Forwarded-User"))
    check_exposure(access, "0.0.0.0")  # editing needs the proxy's editor groups: not open
    assert "only the proxy may reach this port" in caplog.text


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("example.org", False)],
)  # fmt: skip
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_serving_an_open_corpus_beyond_loopback_needs_the_operators_word(tmp_path):
    settings = Settings(index_dir=tmp_path / "index")
    access = Access(settings)
    check_exposure(access, "127.0.0.1")
    check_exposure(access, "0.0.0.0", allow_open_editing=True)
    with pytest.raises(AssistantError) as refused:
        check_exposure(access, "0.0.0.0")
    message = str(refused.value)
    assert "\n" not in message and "assistant users add NAME --role editor" in message
    assert "--allow-open-editing" in message
    add_user(settings.users_path, "aigerim", "editor", PASSWORD)
    check_exposure(access, "0.0.0.0")  # an editor exists: editing needs a login


def test_assistant_serve_on_all_addresses_with_open_editing_refuses_in_one_line(tmp_path, monkeypatch, capsys):
    from assistant.tools import allocator

    monkeypatch.setattr(allocator, "limit_malloc_arenas", lambda: None)
    monkeypatch.setattr(allocator, "trim_free_memory_every", lambda seconds: None)
    import gradio

    monkeypatch.setattr(gradio.Blocks, "launch", lambda *args, **kwargs: pytest.fail("the server started"))
    assert cli.main(["serve", "--host", "0.0.0.0", "--index", str(tmp_path / "index")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("assistant: error: on 0.0.0.0 anyone who reaches the server")
    assert "assistant users add NAME --role editor" in err
