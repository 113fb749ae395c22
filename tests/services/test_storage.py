"""Photo storage: a folder that is never half-written, and S3 against a real local server."""
from __future__ import annotations

import hashlib
import os
import socket
import urllib.request

import pytest

from feedback.services import storage as storage_module
from feedback.services.storage import (
    FolderStorage,
    InvalidKey,
    PhotoNotFound,
    S3Storage,
    storage_from_config,
)

PHOTO = b"\xff\xd8\xff\xe0 not really a jpeg, but bytes are bytes \xff\xd9"
KEY = hashlib.sha256(PHOTO).hexdigest() + ".jpg"

UNSAFE_KEYS = [
    "",
    ".",
    "..",
    "../escaped.jpg",
    "..\\escaped.jpg",
    "a/../../escaped.jpg",
    "nested/photo.jpg",
    "/etc/passwd",
    "C:\\photo.jpg",
    ".hidden.jpg",
    ".tmp-half-written",
    "photo..jpg",
    "photo.jpg\x00.png",
    "ph oto.jpg",
    "a" * 201,
]


# -- folder ------------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path):
    return FolderStorage(tmp_path / "photos")


def test_a_folder_storage_gives_back_what_was_put(folder):
    folder.put(KEY, PHOTO, "image/jpeg")

    assert folder.exists(KEY)
    assert folder.get(KEY) == PHOTO
    assert os.listdir(folder.root) == [KEY]


def test_putting_the_same_key_again_replaces_the_file(folder):
    folder.put(KEY, b"old", "image/jpeg")
    folder.put(KEY, PHOTO, "image/jpeg")

    assert folder.get(KEY) == PHOTO


def test_a_write_that_fails_halfway_leaves_no_file_behind(folder, monkeypatch):
    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(storage_module.os, "fsync", crash)

    with pytest.raises(OSError, match="disk full"):
        folder.put(KEY, PHOTO, "image/jpeg")

    assert not folder.exists(KEY)
    assert os.listdir(folder.root) == []


def test_a_write_that_fails_before_the_rename_keeps_the_old_file_whole(folder, monkeypatch):
    folder.put(KEY, PHOTO, "image/jpeg")

    def crash(*args):
        raise OSError("power cut")

    monkeypatch.setattr(storage_module.os, "replace", crash)

    with pytest.raises(OSError, match="power cut"):
        folder.put(KEY, b"new bytes that never land", "image/jpeg")

    assert folder.get(KEY) == PHOTO
    assert os.listdir(folder.root) == [KEY]


def test_a_write_goes_to_a_temporary_file_in_the_same_folder_then_is_renamed(
    folder, monkeypatch
):
    renames = []
    real_replace = os.replace

    def spy(source, destination):
        renames.append((os.path.dirname(source), os.path.basename(source), destination))
        assert not os.path.exists(destination)  # nobody could have read a partial file
        assert open(source, "rb").read() == PHOTO
        real_replace(source, destination)

    monkeypatch.setattr(storage_module.os, "replace", spy)

    folder.put(KEY, PHOTO, "image/jpeg")

    [(temporary_folder, temporary_name, destination)] = renames
    assert temporary_folder == folder.root
    assert temporary_name.startswith(".tmp-")
    assert destination == os.path.join(folder.root, KEY)


@pytest.mark.parametrize("key", UNSAFE_KEYS)
def test_keys_that_are_not_plain_file_names_are_refused(folder, tmp_path, key):
    for operation in (
        lambda: folder.put(key, PHOTO, "image/jpeg"),
        lambda: folder.get(key),
        lambda: folder.exists(key),
        lambda: folder.delete(key),
    ):
        with pytest.raises(InvalidKey):
            operation()
    assert not (tmp_path / "escaped.jpg").exists()


def test_getting_a_missing_photo_raises_photo_not_found(folder):
    with pytest.raises(PhotoNotFound):
        folder.get(KEY)
    assert not folder.exists(KEY)


def test_deleting_is_final_and_deleting_twice_is_not_an_error(folder):
    folder.put(KEY, PHOTO, "image/jpeg")

    folder.delete(KEY)
    folder.delete(KEY)

    assert not folder.exists(KEY)


def test_a_folder_gives_urls_only_when_it_has_a_base_url(tmp_path):
    assert FolderStorage(tmp_path).url_for(KEY) is None
    served = FolderStorage(tmp_path, base_url="https://anh.example.vn/photos/")
    assert served.url_for(KEY) == f"https://anh.example.vn/photos/{KEY}"


# -- S3, against moto's server on 127.0.0.1 ----------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_environment(monkeypatch, tmp_path):
    """Credentials through boto3's normal environment chain, and nothing else."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def bucket(s3_endpoint, aws_environment, request):
    import boto3

    name = "phan-anh-" + hashlib.sha1(request.node.name.encode()).hexdigest()[:12]
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(s3_endpoint, bucket):
    return S3Storage(bucket, endpoint_url=s3_endpoint, region="us-east-1")


def test_an_s3_storage_gives_back_what_was_put(s3):
    s3.put(KEY, PHOTO, "image/jpeg")

    assert s3.exists(KEY)
    assert s3.get(KEY) == PHOTO
    head = s3.client.head_object(Bucket=s3.bucket, Key=KEY)
    assert head["ContentType"] == "image/jpeg"


def test_an_s3_storage_reports_missing_photos(s3):
    assert not s3.exists(KEY)
    with pytest.raises(PhotoNotFound):
        s3.get(KEY)


def test_an_s3_storage_deletes_and_deleting_twice_is_not_an_error(s3):
    s3.put(KEY, PHOTO, "image/jpeg")

    s3.delete(KEY)
    s3.delete(KEY)

    assert not s3.exists(KEY)


def test_an_s3_prefix_keeps_photos_apart_in_one_bucket(s3_endpoint, bucket):
    originals = S3Storage(bucket, endpoint_url=s3_endpoint, region="us-east-1", prefix="originals")
    public = S3Storage(bucket, endpoint_url=s3_endpoint, region="us-east-1", prefix="public/")

    originals.put(KEY, PHOTO, "image/jpeg")

    assert originals.get(KEY) == PHOTO
    assert not public.exists(KEY)
    listed = originals.client.list_objects_v2(Bucket=bucket)["Contents"]
    assert [item["Key"] for item in listed] == [f"originals/{KEY}"]


@pytest.mark.parametrize("key", ["../escaped.jpg", "nested/photo.jpg", ".hidden.jpg"])
def test_s3_keys_that_are_not_plain_file_names_are_refused(s3, key):
    with pytest.raises(InvalidKey):
        s3.put(key, PHOTO, "image/jpeg")


def test_an_s3_url_is_a_presigned_link_that_works(s3):
    s3.put(KEY, PHOTO, "image/jpeg")

    url = s3.url_for(KEY, expires_in=60)

    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == PHOTO


# -- configuration -----------------------------------------------------------------------


def test_the_configuration_chooses_a_folder_by_default(tmp_path):
    storage = storage_from_config({"PHOTO_FOLDER": str(tmp_path)})

    assert isinstance(storage, FolderStorage)
    assert storage.root == str(tmp_path)


def test_the_configuration_builds_a_working_s3_storage(s3_endpoint, bucket):
    storage = storage_from_config(
        {
            "PHOTO_STORAGE": "s3",
            "S3_BUCKET": bucket,
            "S3_ENDPOINT_URL": s3_endpoint,
            "S3_REGION": "us-east-1",
        }
    )

    storage.put(KEY, PHOTO, "image/jpeg")

    assert isinstance(storage, S3Storage)
    assert storage.get(KEY) == PHOTO


@pytest.mark.parametrize(
    "config",
    [
        {"PHOTO_STORAGE": "folder"},
        {"PHOTO_STORAGE": "s3"},
        {"PHOTO_STORAGE": "ftp", "PHOTO_FOLDER": "/tmp"},
    ],
)
def test_an_incomplete_or_unknown_configuration_is_refused(config):
    with pytest.raises(ValueError):
        storage_from_config(config)
