from __future__ import annotations

import ast
import re

from fastapi_expert.review.model.module import own_nodes
from fastapi_expert.review.rules._util import keyword_value
from fastapi_expert.review.rules.base import FileContext, Invalid, Rule, Valid
from fastapi_expert.review.rules.security._crypto import arg, is_test, module_uses, str_value, words
from fastapi_expert.types import Severity

_FAST_HASHES = frozenset(
    {
        "md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256", "sha3_384",
        "sha3_512", "blake2b", "blake2s", "shake_128", "shake_256",
    }
)
# passlib schemes that are fast, unsalted, broken or no hash at all.
_WEAK_SCHEMES = frozenset(
    {
        "plaintext", "ldap_plaintext", "roundup_plaintext", "md5_crypt", "apr_md5_crypt", "sun_md5_crypt",
        "des_crypt", "bsdi_crypt", "bigcrypt", "crypt16", "sha1_crypt", "sha256_crypt", "hex_md4", "hex_md5",
        "hex_sha1", "hex_sha256", "hex_sha512", "ldap_md5", "ldap_sha1", "ldap_salted_md5", "ldap_salted_sha1",
        "ldap_des_crypt", "ldap_bsdi_crypt", "ldap_md5_crypt", "mysql323", "mysql41", "postgres_md5",
        "oracle10", "oracle11", "lmhash", "nthash", "msdcc", "msdcc2", "django_salted_md5",
        "django_salted_sha1", "django_des_crypt", "htdigest", "cisco_pix", "cisco_asa", "cisco_type7",
    }
)
_PASSWORD_WORDS = frozenset({"password", "passwd", "pwd", "passphrase", "pass", "pw"})
# Hashing these is fine: high-entropy values, or a hash of a hash used as a cache key.
_EXEMPT_WORDS = frozenset({"token", "key", "apikey", "reset", "hash", "hashed", "digest", "salt", "nonce", "code", "otp"})
_CRYPT_CONTEXT = frozenset({"passlib.context.CryptContext"})


def _mentions_password(ctx: FileContext, exprs: list[ast.expr]) -> bool:
    for expr in exprs:
        for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", ctx.source.segment(expr)):
            ws = words(name)
            if any(w in _PASSWORD_WORDS for w in ws) and not any(w in _EXEMPT_WORDS for w in ws):
                return True
    return False


class WeakPasswordHash(Rule):
    """Flags passwords hashed with a fast hash (MD5, SHA-1, SHA-256...) or a weak passlib scheme.

    ## What it does
    Finds `hashlib.md5/sha1/sha256/sha512/...(...)`, `hashlib.new("sha256", ...)`
    and `h.update(...)` on such a hash object, when the data hashed is named like
    a password (`password`, `passwd`, `pwd`, `passphrase`), and a passlib
    `CryptContext` whose default scheme is fast or broken (`md5_crypt`,
    `sha256_crypt`, `des_crypt`, `plaintext`, `hex_sha256`, ...), as well as
    direct use of such a scheme (`passlib.hash.md5_crypt.hash(password)`).
    Hashing a high-entropy value is not flagged: `hashlib.sha256(api_key.encode())`
    to store or look up an API key or reset token is correct, because brute force
    is hopeless against 128+ random bits whatever the hash speed. Neither is a
    call with `usedforsecurity=False`, nor `hashlib.pbkdf2_hmac` / `hashlib.scrypt`
    (deliberately slow key derivation), nor SHA-1 in a file that queries the
    Have I Been Pwned range API (a k-anonymity lookup, not storage), nor a digest
    formatted into a longer string (`f"...|password={sha256(pw).hexdigest()}"`,
    a cache key that tells credentials apart: a stored password is the digest alone).
    Test files are skipped.

    ## Why is this bad?
    General-purpose hashes are built to be fast: a single GPU tries billions of
    SHA-256 or MD5 guesses per second, so a leaked table of such hashes gives up
    most human-chosen passwords within hours, and without a per-user salt one
    rainbow table cracks them all at once. Use a slow, salted, memory-hard
    password hash: argon2id (`pwdlib.PasswordHash.recommended()`, the FastAPI
    tutorial's choice) or bcrypt.

    ## References
    - https://fastapi.tiangolo.com/tutorial/security/oauth2-jwt/#password-hashing
    - https://frankie567.github.io/pwdlib/
    - https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html
    - https://docs.python.org/3/library/hashlib.html#key-derivation
    - https://passlib.readthedocs.io/en/stable/lib/passlib.hash.html
    """

    code = "FX411"
    name = "weak-password-hash"
    summary = "A password is hashed with a fast hash (MD5/SHA-x) instead of argon2 or bcrypt."
    severity = Severity.ERROR

    valid = (
        Valid(
            """
            import hashlib
            import secrets

            from pwdlib import PasswordHash

            password_hash = PasswordHash.recommended()

            def hash_password(password: str) -> str:
                return password_hash.hash(password)

            def new_api_key() -> tuple[str, str]:
                api_key = secrets.token_urlsafe(32)
                # High-entropy secret: a fast hash is fine for storage and lookup.
                return api_key, hashlib.sha256(api_key.encode()).hexdigest()

            def gravatar_url(email: str) -> str:
                digest = hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()
                return f"https://www.gravatar.com/avatar/{digest}"
            """
        ),
        Valid(
            """
            from passlib.context import CryptContext

            # md5_crypt only verifies legacy hashes; new hashes use bcrypt and old ones are upgraded.
            pwd_context = CryptContext(schemes=["bcrypt", "md5_crypt"], deprecated="auto")
            """
        ),
        Valid(
            """
            import hashlib

            def client_cache_key(tenant_id: str, username: str, password: str) -> str:
                # One field of a cache key: tells credentials apart, is never stored as the password.
                return f"tenant={tenant_id}|user={username}|password={hashlib.sha256(password.encode()).hexdigest()}"
            """
        ),
    )
    invalid = (
        Invalid(
            """
            import hashlib

            from sqlalchemy.orm import Session

            from app.models import User

            def create_user(db: Session, email: str, password: str) -> User:
                hashed = hashlib.sha256(password.encode()).hexdigest()
                user = User(email=email, hashed_password=hashed)
                db.add(user)
                return user

            def check(user: User, form_password: str) -> bool:
                h = hashlib.new("md5")
                h.update(form_password.encode())
                return h.hexdigest() == user.hashed_password
            """,
            lines=(8, 15),
        ),
        Invalid(
            """
            from passlib.context import CryptContext
            from passlib.hash import md5_crypt

            pwd_context = CryptContext(schemes=["sha256_crypt"])

            def legacy_hash(password: str) -> str:
                return md5_crypt.hash(password)
            """,
            lines=(4, 7),
        ),
    )

    def visit_Call(self, node: ast.Call, ctx: FileContext) -> None:
        if is_test(ctx) or not module_uses(ctx, ("hashlib", "passlib")):
            return
        target = ctx.resolve(node.func)
        if target is None:
            self._update(node, ctx)
            return
        if target in _CRYPT_CONTEXT:
            self._crypt_context(node, ctx)
            return
        if target.startswith("passlib.hash.") and target.count(".") == 3:
            scheme, method = target.split(".")[2:]
            if scheme in _WEAK_SCHEMES and method in {"hash", "encrypt"}:
                ctx.report(node, self._scheme_message(scheme))
            return
        algorithm = self._hashlib_algorithm(node, target)
        if algorithm is None:
            self._update(node, ctx)
            return
        data = [*node.args[1:]] if target == "hashlib.new" else list(node.args)
        data += [k.value for k in node.keywords if k.arg in {"data", "string"}]
        if (
            self._for_security(node)
            and _mentions_password(ctx, data)
            and not self._pwned_lookup(ctx, algorithm)
            and not self._formatted_into_text(ctx)
        ):
            ctx.report(node, self._hash_message(algorithm))

    def _hashlib_algorithm(self, node: ast.Call, target: str) -> str | None:
        if target == "hashlib.new":
            name = (str_value(arg(node, 0, "name")) or "").lower().replace("-", "_")
            return name if name in _FAST_HASHES else None
        if target.startswith("hashlib.") and target[len("hashlib.") :] in _FAST_HASHES:
            return target[len("hashlib.") :]
        return None

    @staticmethod
    def _formatted_into_text(ctx: FileContext) -> bool:
        """`f"...|password={hashlib.sha256(pw.encode()).hexdigest()}|..."`: the digest is one
        field of a longer string (a cache key telling credentials apart without holding
        them), never the stored form of a password, which is the digest alone."""
        for parent in reversed(ctx.ancestors):
            if isinstance(parent, ast.JoinedStr):
                return len(parent.values) > 1
            if isinstance(parent, ast.stmt):
                return False
        return False

    def _pwned_lookup(self, ctx: FileContext, algorithm: str) -> bool:
        """SHA-1 of a password for the Have I Been Pwned range API (k-anonymity), not for storage."""
        return algorithm == "sha1" and "pwned" in ctx.source.text.lower()

    def _for_security(self, node: ast.Call) -> bool:
        flag = keyword_value(node, "usedforsecurity")
        return not (isinstance(flag, ast.Constant) and flag.value is False)

    def _update(self, node: ast.Call, ctx: FileContext) -> None:
        """`h.update(password.encode())` where `h = hashlib.sha256()` in the same function."""
        f = node.func
        if not (isinstance(f, ast.Attribute) and f.attr == "update" and isinstance(f.value, ast.Name)):
            return
        if not _mentions_password(ctx, list(node.args)):
            return
        func = ctx.function()
        if func is None:
            return
        for stmt in own_nodes(func.node):
            if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)):
                continue
            if not any(isinstance(t, ast.Name) and t.id == f.value.id for t in stmt.targets):
                continue
            target = ctx.resolve(stmt.value.func)
            algorithm = self._hashlib_algorithm(stmt.value, target) if target else None
            if algorithm is not None and self._for_security(stmt.value) and not self._pwned_lookup(ctx, algorithm):
                ctx.report(node, self._hash_message(algorithm))
                return

    def _crypt_context(self, node: ast.Call, ctx: FileContext) -> None:
        schemes = keyword_value(node, "schemes")
        if schemes is None and node.args:
            schemes = node.args[0]
        if not isinstance(schemes, ast.List | ast.Tuple):
            return
        names = [str_value(e) for e in schemes.elts]
        default = str_value(keyword_value(node, "default")) or (names[0] if names else None)
        if default in _WEAK_SCHEMES:
            ctx.report(node, self._scheme_message(default))

    @staticmethod
    def _hash_message(algorithm: str) -> str:
        return (
            f"Password hashed with fast `{algorithm}`, which GPUs brute-force at billions of guesses a second; "
            "use argon2 (`pwdlib.PasswordHash.recommended()`) or bcrypt."
        )

    @staticmethod
    def _scheme_message(scheme: str) -> str:
        return (
            f"passlib scheme `{scheme}` is too fast or broken for passwords; hash with argon2 (pwdlib) or "
            '`bcrypt`, keeping old schemes only for verification (`deprecated="auto"`).'
        )
