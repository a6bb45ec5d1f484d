"""What blocks the event loop, as data.

Rules and the call graph read these tables; no rule keeps its own list. Keys are
fully qualified names after import resolution (`from requests import get as g`
still resolves to `requests.get`). Methods are keyed by the receiver's type as
inferred from annotations and constructor calls (`Session.execute`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class BlockingKind(str, Enum):
    SLEEP = "sleep"
    HTTP = "http"
    DATABASE = "database"
    FILE = "file"
    PROCESS = "process"
    CPU = "cpu"
    NETWORK = "network"


@dataclass(frozen=True, slots=True)
class Blocking:
    kind: BlockingKind
    instead: str


def _table(kind: BlockingKind, instead: str, *names: str) -> dict[str, Blocking]:
    return dict.fromkeys(names, Blocking(kind, instead))


_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request")

# The synchronous clients of the LLM SDKs: each call is an HTTP request that takes
# seconds, and their methods hang off resource attributes
# (`client.chat.completions.create`), which `Project` types through these classes.
_LLM_CLIENTS = (
    "openai.OpenAI",
    "openai.AzureOpenAI",
    "anthropic.Anthropic",
    "anthropic.AnthropicBedrock",
    "anthropic.AnthropicVertex",
    "google.genai.Client",
)
_LLM_CALLS: dict[str, tuple[str, ...]] = {
    "openai": (
        "chat.completions.create",
        "chat.completions.parse",
        "chat.completions.stream",  # the request starts when its manager is entered
        "beta.chat.completions.parse",
        "beta.chat.completions.stream",
        "completions.create",
        "embeddings.create",
        "responses.create",
        "responses.parse",
        "responses.stream",
        "images.generate",
        "images.edit",
        "audio.transcriptions.create",
        "audio.translations.create",
        "audio.speech.create",
        "moderations.create",
    ),
    "anthropic": (
        "messages.create",
        "messages.stream",
        "messages.count_tokens",
        "completions.create",
        "beta.messages.create",
        "beta.messages.stream",
    ),
    "google": (
        "models.generate_content",
        "models.generate_content_stream",
        "models.embed_content",
        "models.count_tokens",
        "models.generate_images",
    ),
}
# The Docker SDK's client: every call is an HTTP request to the Docker daemon, and
# some take minutes (`images.build`, `containers.run` pulling an image).
_DOCKER_CALLS = tuple(
    f"{resource}.{method}"
    for resource, methods in (
        ("containers", ("run", "create", "get", "list", "prune")),
        ("images", ("build", "pull", "push", "get", "list", "remove", "prune")),
        ("volumes", ("create", "get", "list", "prune")),
        ("networks", ("create", "get", "list", "prune")),
    )
    for method in methods
)
# The first attribute of those chains: `Project` types a chain only when it
# starts with one of these, so the other chained calls cost one set lookup.
RESOURCE_CLIENTS = frozenset((*_LLM_CLIENTS, "docker.DockerClient"))
RESOURCE_ATTRIBUTES = frozenset(
    call.split(".")[0] for calls in (*_LLM_CALLS.values(), _DOCKER_CALLS) for call in calls
)

BLOCKING_CALLS: dict[str, Blocking] = {
    **_table(BlockingKind.SLEEP, "`await asyncio.sleep(...)`", "time.sleep"),
    **_table(
        BlockingKind.HTTP,
        "a shared `httpx.AsyncClient`",
        *(f"requests.{v}" for v in _HTTP_VERBS),
        *(f"requests.api.{v}" for v in _HTTP_VERBS),
        *(f"requests.Session.{v}" for v in (*_HTTP_VERBS, "send")),
        *(f"httpx.{v}" for v in (*_HTTP_VERBS, "stream")),
        *(f"httpx.Client.{v}" for v in (*_HTTP_VERBS, "send", "stream")),
        "urllib.request.urlopen",
        "urllib.request.urlretrieve",
        "urllib3.request",
        "urllib3.PoolManager.request",
        "http.client.HTTPConnection.request",
        "http.client.HTTPConnection.getresponse",
        "http.client.HTTPSConnection.request",
        "http.client.HTTPSConnection.getresponse",
    ),
    **_table(
        BlockingKind.DATABASE,
        "an `AsyncSession` (SQLAlchemy asyncio) or an async driver",
        *(
            f"sqlalchemy.orm.Session.{m}"
            for m in (
                "execute", "scalars", "scalar", "query", "commit", "flush", "refresh",
                "get", "merge", "rollback", "connection", "close",
                "exec", "get_one", "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings",
            )
        ),
        *(f"sqlalchemy.engine.Engine.{m}" for m in ("connect", "begin", "execute")),
        *(f"sqlalchemy.engine.Connection.{m}" for m in ("execute", "commit", "scalars", "scalar")),
        "psycopg2.connect",
        "psycopg.connect",
        "pymysql.connect",
        "MySQLdb.connect",
        "sqlite3.connect",
        *(f"psycopg2.Cursor.{m}" for m in ("execute", "executemany", "fetchone", "fetchall", "fetchmany")),
        *(f"sqlite3.Connection.{m}" for m in ("execute", "executemany", "commit")),
        *(f"sqlite3.Cursor.{m}" for m in ("execute", "executemany", "fetchone", "fetchall")),
        *(f"psycopg2.Connection.{m}" for m in ("commit", "rollback")),
        *(f"psycopg.Connection.{m}" for m in ("execute", "commit", "rollback")),
        *(f"psycopg.Cursor.{m}" for m in ("execute", "executemany", "fetchone", "fetchall", "fetchmany")),
        *(f"pymysql.connections.Connection.{m}" for m in ("commit", "rollback", "ping")),
        *(f"pymysql.cursors.Cursor.{m}" for m in ("execute", "executemany", "fetchone", "fetchall", "fetchmany")),
    ),
    **_table(
        BlockingKind.HTTP,
        "the SDK's async client (`openai.AsyncOpenAI`, `anthropic.AsyncAnthropic`, google-genai's `client.aio`)",
        *(f"{client}.{call}" for client in _LLM_CLIENTS for call in _LLM_CALLS[client.split(".")[0]]),
        # The module-level client of openai >= 1 (`openai.chat.completions.create(...)`)
        # and the functions of openai < 1 (`openai.ChatCompletion.create(...)`).
        *(f"openai.{call}" for call in _LLM_CALLS["openai"]),
        *(
            f"openai.{resource}.{method}"
            for resource in ("ChatCompletion", "Completion", "Embedding", "Image", "Moderation")
            for method in ("create",)
        ),
    ),
    **_table(
        BlockingKind.HTTP,
        "`aiodocker`, or `await anyio.to_thread.run_sync(...)`",
        *(f"docker.DockerClient.{call}" for call in (*_DOCKER_CALLS, "ping", "info", "version")),
        "docker.from_env",
    ),
    **_table(
        BlockingKind.DATABASE,
        "`aioboto3`, or `await run_in_threadpool(...)`",
        "boto3.client",
        "boto3.resource",
    ),
    **_table(
        BlockingKind.DATABASE,
        "`redis.asyncio.Redis` (`await r.get(...)`)",
        *(
            f"redis.Redis.{m}"
            for m in (
                "get", "set", "delete", "incr", "expire", "hget", "hset", "lpush", "rpush",
                "publish", "exists", "mget", "setex", "ping", "keys", "scan",
                "hgetall", "hdel", "hincrby", "hmget", "lpop", "rpop", "blpop", "brpop", "lrange",
                "llen", "sadd", "srem", "smembers", "sismember", "scard", "zadd", "zrange",
                "zrangebyscore", "zrem", "zscore", "zincrby", "incrby", "decr", "ttl", "setnx",
                "getdel", "xadd", "xread", "eval", "evalsha", "flushdb",
            )
        ),
    ),
    **_table(
        BlockingKind.DATABASE,
        "PyMongo's `AsyncMongoClient` or Motor",
        *(
            f"pymongo.collection.Collection.{m}"
            for m in (
                "find", "find_one", "insert_one", "insert_many", "update_one", "delete_one",
                "update_many", "delete_many", "replace_one", "count_documents", "aggregate",
                "find_one_and_update", "find_one_and_delete", "find_one_and_replace", "bulk_write",
            )
        ),
    ),
    **_table(
        BlockingKind.FILE,
        "`anyio.Path`/`aiofiles`, or `await anyio.to_thread.run_sync(...)`",
        "builtins.open",
        "io.open",
        "os.listdir",
        "os.walk",
        "os.scandir",
        "os.remove",
        "os.unlink",
        "os.rename",
        "os.makedirs",
        "os.stat",
        "os.mkdir",
        "os.rmdir",
        "os.replace",
        "os.path.exists",
        "os.path.getsize",
        *(
            f"pathlib.Path.{m}"
            for m in (
                "read_text", "read_bytes", "write_text", "write_bytes", "open", "exists",
                "mkdir", "unlink", "iterdir", "glob", "rglob", "stat", "touch",
                "is_file", "is_dir", "rename", "replace", "rmdir",
            )
        ),
    ),
    # Package metadata is read from the installed `METADATA`/`RECORD` files on
    # every call (the path scan is cached, the file read is not): it never changes
    # while the process runs, so the advice is to read it once.
    **{
        f"{package}.{name}": Blocking(
            BlockingKind.FILE, "a module-level constant read once at import (`VERSION = version(\"pkg\")`)"
        )
        for package in ("importlib.metadata", "importlib_metadata")
        for name in ("version", "metadata", "distribution", "distributions", "entry_points", "files", "requires")
    },
    # Neither `anyio.Path` nor `aiofiles` wraps `shutil` (anyio's `Path.copy`/`move`
    # need Python 3.14, and nothing removes a tree or builds an archive): the
    # advice names the thread call that runs the function itself.
    **{
        f"shutil.{name}": Blocking(BlockingKind.FILE, f"`await anyio.to_thread.run_sync(shutil.{name}, ...)`")
        for name in ("copy", "copyfile", "copy2", "make_archive", "unpack_archive", "copytree", "move", "rmtree")
    },
    **_table(
        BlockingKind.PROCESS,
        "`asyncio.create_subprocess_exec(...)`",
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "subprocess.Popen",
        "subprocess.Popen.communicate",
        "subprocess.Popen.wait",
        "os.system",
        "os.popen",
        "os.waitpid",
        "os.wait",
        "builtins.input",
    ),
    **_table(
        BlockingKind.NETWORK,
        "an asyncio client library",
        "socket.create_connection",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "smtplib.SMTP",
        "smtplib.SMTP_SSL",
        "smtplib.SMTP.sendmail",
        "smtplib.SMTP.send_message",
        "ftplib.FTP",
    ),
    **_table(
        BlockingKind.CPU,
        "`await run_in_threadpool(...)` (or `anyio.to_thread.run_sync`)",
        "bcrypt.hashpw",
        "bcrypt.checkpw",
        "bcrypt.kdf",
        "hashlib.pbkdf2_hmac",
        "hashlib.scrypt",
        "passlib.context.CryptContext.hash",
        "passlib.context.CryptContext.verify",
        "passlib.context.CryptContext.verify_and_update",
        "passlib.context.CryptContext.encrypt",
        *(
            f"passlib.hash.{scheme}.{m}"
            for scheme in (
                "bcrypt", "bcrypt_sha256", "argon2", "pbkdf2_sha256", "pbkdf2_sha512",
                "sha256_crypt", "sha512_crypt", "scrypt",
            )
            for m in ("hash", "verify", "encrypt")
        ),
        "pwdlib.PasswordHash.hash",
        "pwdlib.PasswordHash.verify",
        "pwdlib.PasswordHash.verify_and_update",
        "argon2.PasswordHasher.hash",
        "argon2.PasswordHasher.verify",
    ),
}

# What a factory call returns, so that methods called on the result resolve.
FACTORY_RETURNS: dict[str, str] = {
    "docker.from_env": "docker.DockerClient",
    "docker.DockerClient": "docker.DockerClient",
    "docker.client.DockerClient": "docker.DockerClient",
    "requests.session": "requests.Session",
    "requests.Session": "requests.Session",
    "httpx.Client": "httpx.Client",
    "psycopg2.connect": "psycopg2.Connection",
    "psycopg2.Connection.cursor": "psycopg2.Cursor",
    "sqlite3.connect": "sqlite3.Connection",
    "sqlite3.Connection.cursor": "sqlite3.Cursor",
    "redis.Redis": "redis.Redis",
    "redis.StrictRedis": "redis.Redis",
    "redis.Redis.from_url": "redis.Redis",
    "redis.from_url": "redis.Redis",
    "pathlib.Path": "pathlib.Path",
    "sqlalchemy.orm.Session": "sqlalchemy.orm.Session",
    "sqlalchemy.create_engine": "sqlalchemy.engine.Engine",
    "sqlalchemy.engine.Engine.connect": "sqlalchemy.engine.Connection",
    "sqlalchemy.engine.Engine.begin": "sqlalchemy.engine.Connection",
    "passlib.context.CryptContext": "passlib.context.CryptContext",
    "pwdlib.PasswordHash": "pwdlib.PasswordHash",
    "pwdlib.PasswordHash.recommended": "pwdlib.PasswordHash",
    "argon2.PasswordHasher": "argon2.PasswordHasher",
    "pymongo.MongoClient": "pymongo.MongoClient",
    "smtplib.SMTP": "smtplib.SMTP",
    "urllib3.PoolManager": "urllib3.PoolManager",
    "psycopg.connect": "psycopg.Connection",
    "psycopg.Connection.connect": "psycopg.Connection",
    "psycopg.Connection.cursor": "psycopg.Cursor",
    "pymysql.connect": "pymysql.connections.Connection",
    "pymysql.connections.Connection.cursor": "pymysql.cursors.Cursor",
    "subprocess.Popen": "subprocess.Popen",
    # A session factory is an instance; calling it (`__call__`) opens a session.
    "sqlalchemy.orm.sessionmaker": "sqlalchemy.orm.sessionmaker",
    "sqlalchemy.orm.sessionmaker.__call__": "sqlalchemy.orm.Session",
    "sqlalchemy.ext.asyncio.async_sessionmaker": "sqlalchemy.ext.asyncio.async_sessionmaker",
    "sqlalchemy.ext.asyncio.async_sessionmaker.__call__": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.AsyncSession": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.create_async_engine": "sqlalchemy.ext.asyncio.AsyncEngine",
    "sqlalchemy.ext.asyncio.AsyncEngine.connect": "sqlalchemy.ext.asyncio.AsyncConnection",
    "sqlalchemy.ext.asyncio.AsyncEngine.begin": "sqlalchemy.ext.asyncio.AsyncConnection",
    "httpx.AsyncClient": "httpx.AsyncClient",
    "redis.asyncio.Redis": "redis.asyncio.Redis",
    "redis.asyncio.from_url": "redis.asyncio.Redis",
    "redis.asyncio.Redis.from_url": "redis.asyncio.Redis",
    "asyncio.get_event_loop": "asyncio.AbstractEventLoop",
    "asyncio.get_running_loop": "asyncio.AbstractEventLoop",
    "asyncio.new_event_loop": "asyncio.AbstractEventLoop",
    "asyncio.TaskGroup": "asyncio.TaskGroup",
}

# Aliases under which libraries export the same class.
TYPE_ALIASES: dict[str, str] = {
    "docker.client.DockerClient": "docker.DockerClient",
    "requests.sessions.Session": "requests.Session",
    "sqlalchemy.orm.session.Session": "sqlalchemy.orm.Session",
    "sqlalchemy.Engine": "sqlalchemy.engine.Engine",
    "sqlalchemy.engine.base.Engine": "sqlalchemy.engine.Engine",
    "sqlalchemy.Connection": "sqlalchemy.engine.Connection",
    "sqlalchemy.engine.base.Connection": "sqlalchemy.engine.Connection",
    "redis.client.Redis": "redis.Redis",
    "redis.StrictRedis": "redis.Redis",
    "httpx._client.Client": "httpx.Client",
    "pwdlib.hashers.PasswordHash": "pwdlib.PasswordHash",
    "sqlalchemy.orm.session.sessionmaker": "sqlalchemy.orm.sessionmaker",
    # SQLModel's sessions subclass SQLAlchemy's (and add `exec`).
    "sqlmodel.Session": "sqlalchemy.orm.Session",
    "sqlmodel.orm.session.Session": "sqlalchemy.orm.Session",
    "sqlmodel.ext.asyncio.session.AsyncSession": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.session.AsyncSession": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.session.async_sessionmaker": "sqlalchemy.ext.asyncio.async_sessionmaker",
    "sqlalchemy.ext.asyncio.engine.AsyncEngine": "sqlalchemy.ext.asyncio.AsyncEngine",
    "sqlalchemy.ext.asyncio.engine.AsyncConnection": "sqlalchemy.ext.asyncio.AsyncConnection",
    "sqlalchemy.ext.asyncio.engine.create_async_engine": "sqlalchemy.ext.asyncio.create_async_engine",
    "redis.asyncio.client.Redis": "redis.asyncio.Redis",
    "redis.asyncio.StrictRedis": "redis.asyncio.Redis",
    "httpx._client.AsyncClient": "httpx.AsyncClient",
    "psycopg2.extensions.connection": "psycopg2.Connection",
    "psycopg2.extensions.cursor": "psycopg2.Cursor",
    "pymysql.Connection": "pymysql.connections.Connection",
    "pymongo.mongo_client.MongoClient": "pymongo.MongoClient",
    "pymongo.synchronous.collection.Collection": "pymongo.collection.Collection",
    "argon2._password_hasher.PasswordHasher": "argon2.PasswordHasher",
    "asyncio.events.AbstractEventLoop": "asyncio.AbstractEventLoop",
    "asyncio.taskgroups.TaskGroup": "asyncio.TaskGroup",
}

# Calls that run their callable argument in a worker thread: whatever they are
# handed does not run on the event loop.
THREAD_OFFLOADERS: frozenset[str] = frozenset(
    {
        "fastapi.concurrency.run_in_threadpool",
        "starlette.concurrency.run_in_threadpool",
        "anyio.to_thread.run_sync",
        "asyncio.to_thread",
        "asyncio.AbstractEventLoop.run_in_executor",
        "concurrent.futures.ThreadPoolExecutor.submit",
    }
)


# File-system queries that read only metadata (`exists`, `is_file`, `stat`): one
# system call that the kernel answers from its cache in microseconds. A search
# through helpers (FX210) does not end at one: moving the chain of calls to a
# thread would cost more than the call, and the helper's next call that reads or
# writes is the one worth naming. Written in an `async def` itself, where the fix
# is one `await anyio.Path(...).exists()`, it is still reported (FX204).
CHEAP_METADATA_CALLS: frozenset[str] = frozenset(
    {
        "os.path.exists",
        "os.path.getsize",
        "os.stat",
        *(f"pathlib.Path.{m}" for m in ("exists", "is_file", "is_dir", "stat")),
    }
)


def cheap_metadata_call(qualname: str | None) -> bool:
    """Is the call a file-system query answered from metadata alone?"""
    return qualname is not None and TYPE_ALIASES.get(qualname, qualname) in CHEAP_METADATA_CALLS


def blocking_call(qualname: str | None) -> Blocking | None:
    """The blocking fact for a call target, or None when it does not block."""
    if qualname is None:
        return None
    return BLOCKING_CALLS.get(TYPE_ALIASES.get(qualname, qualname))
