"""Where photo files live: a folder on one machine, or an S3-compatible bucket.

Keys are flat content-hash names such as `<sha256>.jpg`; a storage never sees a path.
Build one with `storage_from_config(app.config)`; services receive it explicitly.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Mapping
from typing import Any, Protocol

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


class InvalidKey(ValueError):
    """A key that is not a plain file name: empty, hidden, with a separator or `..`."""


class PhotoNotFound(LookupError):
    """No file is stored under that key."""


def check_key(key: str) -> str:
    """Return `key` if it is a safe flat name, else raise InvalidKey."""
    if not isinstance(key, str) or not _KEY.fullmatch(key) or ".." in key:
        raise InvalidKey(f"not a photo key: {key!r}")
    return key


class PhotoStorage(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store `data` under `key`, replacing any file there, all or nothing."""

    def get(self, key: str) -> bytes:
        """The bytes stored under `key`; PhotoNotFound if there are none."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove `key`; removing what is not there is not an error."""

    def url_for(self, key: str) -> str | None:
        """A URL a browser can fetch `key` from, or None when the app must serve it."""


class FolderStorage:
    """Files in one folder. A write goes to a temporary file in the same folder, is
    flushed to disk, then renamed over the key: readers and crashes see the old file
    or the new one, never half of one. Leftover `.tmp-*` files after a crash are
    never keys (keys cannot start with a dot) and can be removed at any time."""

    def __init__(
        self, root: str | os.PathLike[str], *, base_url: str | None = None, file_mode: int = 0o644
    ) -> None:
        self.root = os.path.abspath(os.fspath(root))
        self.base_url = base_url.rstrip("/") if base_url else None
        self.file_mode = file_mode

    def __repr__(self) -> str:
        return f"FolderStorage({self.root!r})"

    def path_for(self, key: str) -> str:
        return os.path.join(self.root, check_key(key))

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self.path_for(key)
        os.makedirs(self.root, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
                os.fchmod(file.fileno(), self.file_mode)
            os.replace(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise
        self._sync_folder()

    def _sync_folder(self) -> None:
        # The rename itself is durable only once the folder's entry is on disk.
        try:
            fd = os.open(self.root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def get(self, key: str) -> bytes:
        try:
            with open(self.path_for(key), "rb") as file:
                return file.read()
        except FileNotFoundError:
            raise PhotoNotFound(key) from None

    def exists(self, key: str) -> bool:
        return os.path.isfile(self.path_for(key))

    def delete(self, key: str) -> None:
        try:
            os.unlink(self.path_for(key))
        except FileNotFoundError:
            pass

    def url_for(self, key: str) -> str | None:
        check_key(key)
        return f"{self.base_url}/{key}" if self.base_url else None


class S3Storage:
    """Objects in a bucket of any S3-compatible service, through boto3.

    Credentials come from boto3's usual chain (environment, shared files, instance
    role); a ready `client` may be passed instead, e.g. in tests.
    """

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        prefix: str = "",
        client: Any = None,
    ) -> None:
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.bucket = bucket
        self.prefix = prefix
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or None,
                config=Config(
                    connect_timeout=5,
                    read_timeout=30,
                    retries={"max_attempts": 3, "mode": "standard"},
                    # Most self-hosted S3 servers answer only path-style requests.
                    s3={"addressing_style": "path" if endpoint_url else "auto"},
                ),
            )
        self.client = client

    def __repr__(self) -> str:
        return f"S3Storage({self.bucket!r}, prefix={self.prefix!r})"

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
        )

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if _is_not_found(error):
                raise PhotoNotFound(key) from None
            raise
        with response["Body"] as body:
            return body.read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if _is_not_found(error):
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def url_for(self, key: str, *, expires_in: int = 3600) -> str | None:
        """A presigned GET URL, valid for `expires_in` seconds."""
        return self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._key(key)},
            ExpiresIn=expires_in,
        )


def _is_not_found(error: Any) -> bool:
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def storage_from_config(config: Mapping[str, Any]) -> FolderStorage | S3Storage:
    """Build the storage a configuration names.

    PHOTO_STORAGE is "folder" (the default: PHOTO_FOLDER, optional PHOTO_BASE_URL) or
    "s3" (S3_BUCKET, optional S3_ENDPOINT_URL, S3_REGION, S3_PREFIX).
    """
    kind = (config.get("PHOTO_STORAGE") or "folder").lower()
    if kind == "folder":
        folder = config.get("PHOTO_FOLDER")
        if not folder:
            raise ValueError("PHOTO_STORAGE is 'folder' but PHOTO_FOLDER is not set")
        return FolderStorage(folder, base_url=config.get("PHOTO_BASE_URL"))
    if kind == "s3":
        bucket = config.get("S3_BUCKET")
        if not bucket:
            raise ValueError("PHOTO_STORAGE is 's3' but S3_BUCKET is not set")
        return S3Storage(
            bucket,
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
            prefix=config.get("S3_PREFIX") or "",
        )
    raise ValueError(f"PHOTO_STORAGE must be 'folder' or 's3', not {kind!r}")
